"""The sandbox spec refuses what it does not understand, and the container it describes is
hardened by default. (No engine needed: these check the configuration itself; the Docker tests
check that the engine applies it.)"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from paperbench.sandbox import SandboxSpec
from paperbench.sandbox.docker_config import (
    KEPT_CAPABILITIES,
    container_kwargs,
    host_config_kwargs,
)


def test_defaults_are_no_network_and_no_gpus() -> None:
    spec = SandboxSpec()
    assert spec.network == "none" and spec.gpus == ()


def test_a_misspelt_setting_is_refused_not_ignored() -> None:
    with pytest.raises(ValidationError, match="netwrok"):
        SandboxSpec.model_validate({"netwrok": "none"})


def test_only_none_and_bridge_networks_exist() -> None:
    with pytest.raises(ValidationError):
        SandboxSpec.model_validate({"network": "host"})


def test_gpus_are_listed_by_device_never_all() -> None:
    with pytest.raises(ValidationError, match="never get 'all' GPUs"):
        SandboxSpec(gpus=("all",))
    assert SandboxSpec(gpus=("0", "GPU-8e2f-11aa")).gpus == ("0", "GPU-8e2f-11aa")


def test_paperbench_labels_cannot_be_overridden() -> None:
    with pytest.raises(ValidationError, match="reserved"):
        SandboxSpec(labels={"org.paperbench.run-id": "forged"})


def test_run_id_must_be_usable_in_a_container_name() -> None:
    with pytest.raises(ValidationError):
        SandboxSpec(run_id="../x")


def test_the_container_is_hardened_by_default() -> None:
    config = host_config_kwargs(SandboxSpec(memory_mb=256, pids_limit=99), "vol")
    assert config["network_mode"] == "none"
    assert config["cap_drop"] == ["ALL"] and tuple(config["cap_add"]) == KEPT_CAPABILITIES
    assert config["security_opt"] == ["no-new-privileges:true"]
    assert config["pids_limit"] == 99
    assert config["mem_limit"] == config["memswap_limit"] == 256 * 1024 * 1024
    assert config["privileged"] is False and config["init"] is True


def test_the_only_mount_is_the_sandbox_volume_at_the_work_folder() -> None:
    config = host_config_kwargs(SandboxSpec(work_dir="/home"), "pb-vol")
    assert config["binds"] == {"pb-vol": {"bind": "/home", "mode": "rw"}}
    assert "devices" not in config and "volumes_from" not in config


def test_gpus_are_requested_by_explicit_device_ids() -> None:
    config = host_config_kwargs(SandboxSpec(gpus=("1", "3")), "vol")
    (request,) = config["device_requests"]
    assert request["DeviceIDs"] == ["1", "3"] and request["Count"] == 0


def test_no_gpu_is_requested_unless_listed() -> None:
    assert "device_requests" not in host_config_kwargs(SandboxSpec(), "vol")


def test_a_read_only_root_gets_a_private_tmp() -> None:
    config = host_config_kwargs(SandboxSpec(read_only_root=True), "vol")
    assert config["read_only"] is True and "/tmp" in config["tmpfs"]


def test_the_container_runs_sleep_under_init_with_the_given_labels() -> None:
    kwargs = container_kwargs(SandboxSpec(), "name", {"k": "v"})
    assert kwargs["entrypoint"] == ["sleep"] and kwargs["command"] == ["infinity"]
    assert kwargs["labels"] == {"k": "v"}
