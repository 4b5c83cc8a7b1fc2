"""The egress proxy's decisions (sandbox/egress/policy.py, which runs in the egress container
with only the standard library) agree with the transcript monitor's URL rules, and let the proxy
connect only to addresses on the internet. Addresses here are data: nothing is sent."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from paperbench.agents.environment import blacklist_targets
from paperbench.agents.urls import blacklist_target, normalise
from paperbench.resources import resource_dir


def load_policy() -> ModuleType:
    path = resource_dir("sandbox") / "egress" / "policy.py"
    spec = importlib.util.spec_from_file_location("egress_policy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


policy = load_policy()
ENTRIES = [
    "https://github.com/paper-authors/spiral-code",
    "github.com/owner/repo/tree/main/src",
    "example.org",
    "https://huggingface.co/datasets/authors/data/",
    "http://www.Papers.test/code.git",
]
URLS = [
    "https://github.com/paper-authors/spiral-code",
    "https://github.com/Paper-Authors/Spiral-Code.git/info/refs?service=git-upload-pack",
    "https://github.com/paper-authors/spiral-code-extras/x",
    "https://raw.githubusercontent.com/paper-authors/spiral-code/main/train.py",
    "https://codeload.github.com/paper-authors/spiral-code/zip/refs/heads/main",
    "https://api.github.com/repos/owner/repo/tarball",
    "https://github.com/owner/repo2",
    "https://docs.example.org/page",
    "https://notexample.org/page",
    "https://huggingface.co/datasets/authors/data/resolve/main/x.csv",
    "https://huggingface.co/datasets/authors/data2",
    "https://papers.test/code/blob/readme",
    "https://papers.test/other",
    "https://pypi.org/simple/numpy/",
    "https://github.com/owner/repo%2Fsrc",
]


@pytest.mark.parametrize("url", URLS)
def test_the_proxy_blacklists_exactly_what_the_monitor_would(url: str) -> None:
    targets = [t.model_dump() for t in blacklist_targets(ENTRIES)]
    seen = normalise(url)
    assert seen is not None
    expected = next(
        (e for e in ENTRIES if (t := blacklist_target(e)) is not None and t.covers(seen)), None
    )
    assert policy.blacklisted(url, targets) == expected


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # cloud metadata
        "fd00:ec2::254",  # its IPv6 form
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "172.17.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "fe80::1",
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "not-an-address",
    ],
)
def test_the_proxy_refuses_every_address_not_on_the_internet(address: str) -> None:
    assert policy.address_allowed(address, []) is False


def test_the_proxy_allows_internet_addresses_and_ranges_the_run_allows() -> None:
    assert policy.address_allowed("151.101.0.223", []) is True
    assert policy.address_allowed("2a04:4e42::223", []) is True
    assert policy.address_allowed("10.9.8.7", ["10.9.0.0/16"]) is True
    assert policy.address_allowed("169.254.169.254", ["10.9.0.0/16"]) is False
