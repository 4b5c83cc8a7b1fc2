"""The sandbox contract, checked against every backend (after Inspect's sandbox self-check).

Each test names one behaviour; the ``sandbox`` fixture runs it on the local backend and, when an
engine answers, on Docker. Commands run as an unprivileged user, so permission errors are real.
"""

from __future__ import annotations

import asyncio
import errno
import io
import tarfile
from pathlib import Path
from typing import IO

import pytest

from paperbench.sandbox import Sandbox
from paperbench.sandbox.archives import safe_extract
from paperbench.sandbox.errors import (
    CommandFailedError,
    CommandTimedOutError,
    FileTooLargeError,
    SandboxGoneError,
    UnknownUserError,
)
from tests.support.sandbox import ALIVE_SCRIPT, IS_ROOT, run

needs_user_switch = pytest.mark.skipif(
    not IS_ROOT, reason="the local backend switches users only as root"
)

# -- files -----------------------------------------------------------------------------------------


def test_text_file_round_trips(sandbox: Sandbox, scratch: str) -> None:
    run(sandbox.write_file(f"{scratch}/notes.txt", "great #content\nincluding newlines"))
    assert run(sandbox.read_file(f"{scratch}/notes.txt")) == "great #content\nincluding newlines"


def test_binary_file_round_trips_byte_for_byte(sandbox: Sandbox, scratch: str) -> None:
    data = bytes(range(256)) * 4 + b"\xc3\x28"
    run(sandbox.write_file(f"{scratch}/blob.bin", data))
    assert run(sandbox.read_file(f"{scratch}/blob.bin", text=False)) == data


def test_large_binary_file_round_trips(sandbox: Sandbox, scratch: str) -> None:
    data = b"\xc3" * 5_000_000
    run(sandbox.write_file(f"{scratch}/large.bin", data))
    assert run(sandbox.read_file(f"{scratch}/large.bin", text=False)) == data


def test_empty_file_reads_as_empty(sandbox: Sandbox, scratch: str) -> None:
    run(sandbox.write_file(f"{scratch}/empty", b""))
    assert run(sandbox.read_file(f"{scratch}/empty")) == ""


def test_unicode_names_and_contents_round_trip(sandbox: Sandbox, scratch: str) -> None:
    path = f"{scratch}/données ✨ été.txt"
    run(sandbox.write_file(path, "✨☽︎✨🌞︎︎✨🚀✨"))
    assert run(sandbox.read_file(path)) == "✨☽︎✨🌞︎︎✨🚀✨"
    assert "données ✨ été.txt" in run(sandbox.exec(["ls", scratch])).stdout


def test_write_creates_missing_parent_folders(sandbox: Sandbox, scratch: str) -> None:
    run(sandbox.write_file(f"{scratch}/a/b/c.txt", "deep"))
    assert run(sandbox.read_file(f"{scratch}/a/b/c.txt")) == "deep"


def test_absolute_paths_are_used_as_given(sandbox: Sandbox, scratch: str) -> None:
    path = f"/tmp/{scratch}/abs.txt"
    run(sandbox.write_file(path, "absolute"))
    assert run(sandbox.exec(["cat", path])).stdout == "absolute"


def test_write_replaces_an_existing_file(sandbox: Sandbox, scratch: str) -> None:
    run(sandbox.write_file(f"{scratch}/f", "first, and longer"))
    run(sandbox.write_file(f"{scratch}/f", "second"))
    assert run(sandbox.read_file(f"{scratch}/f")) == "second"


def test_reading_a_missing_file_raises_file_not_found_naming_it(sandbox: Sandbox) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        run(sandbox.read_file("https:/en.wikipedia.org/wiki/nothing-here"))
    assert caught.value.errno == errno.ENOENT
    assert "wikipedia" in str(caught.value)


def test_reading_a_folder_raises_is_a_directory(sandbox: Sandbox) -> None:
    with pytest.raises(IsADirectoryError):
        run(sandbox.read_file("/etc"))


def test_reading_an_unreadable_file_raises_permission_error(sandbox: Sandbox, scratch: str) -> None:
    run(sandbox.write_file(f"{scratch}/secret", "hidden"))
    run(sandbox.exec(["chmod", "000", f"{scratch}/secret"])).check()
    with pytest.raises(PermissionError) as caught:
        run(sandbox.read_file(f"{scratch}/secret"))
    assert "secret" in str(caught.value)


def test_writing_a_read_only_file_raises_permission_error(sandbox: Sandbox, scratch: str) -> None:
    run(sandbox.write_file(f"{scratch}/fixed", "impervious"))
    run(sandbox.exec(["chmod", "444", f"{scratch}/fixed"])).check()
    with pytest.raises(PermissionError):
        run(sandbox.write_file(f"{scratch}/fixed", b"\xc3\x28"))
    assert run(sandbox.read_file(f"{scratch}/fixed")) == "impervious"


def test_writing_where_the_user_may_not_raises_permission_error(sandbox: Sandbox) -> None:
    with pytest.raises(PermissionError):
        run(sandbox.write_file("/etc/paperbench-should-not-exist", "x"))


def test_writing_onto_a_folder_raises_is_a_directory(sandbox: Sandbox, scratch: str) -> None:
    run(sandbox.write_file(f"{scratch}/dir/file", "x"))
    with pytest.raises(IsADirectoryError):
        run(sandbox.write_file(f"{scratch}/dir", "content cannot go in a folder"))


def test_writing_below_a_file_raises_not_a_directory(sandbox: Sandbox, scratch: str) -> None:
    run(sandbox.write_file(f"{scratch}/plain", "x"))
    with pytest.raises(NotADirectoryError):
        run(sandbox.write_file(f"{scratch}/plain/below", "x"))


def test_reading_past_the_read_limit_raises_file_too_large(sandbox: Sandbox, scratch: str) -> None:
    run(sandbox.write_file(f"{scratch}/huge", b"a" * (sandbox.spec.read_limit_bytes + 1)))
    with pytest.raises(FileTooLargeError, match="read limit"):
        run(sandbox.read_file(f"{scratch}/huge"))


def test_reading_non_utf8_as_text_raises_unicode_decode_error(
    sandbox: Sandbox, scratch: str
) -> None:
    run(sandbox.write_file(f"{scratch}/latin1", "café".encode("latin-1")))
    with pytest.raises(UnicodeDecodeError):
        run(sandbox.read_file(f"{scratch}/latin1"))


# -- exec ------------------------------------------------------------------------------------------


def test_exec_reports_stdout_stderr_and_exit_code(sandbox: Sandbox) -> None:
    result = run(sandbox.exec(["sh", "-c", "echo foo; echo bar; echo oops >&2; exit 3"]))
    assert (result.exit_code, result.stdout, result.stderr) == (3, "foo\nbar\n", "oops\n")
    assert not result.success and not result.timed_out and not result.oom_killed


def test_check_raises_command_failed_with_the_result(sandbox: Sandbox) -> None:
    result = run(sandbox.exec(["sh", "-c", "echo broken >&2; exit 4"]))
    with pytest.raises(CommandFailedError, match="exited 4: broken") as caught:
        result.check()
    assert caught.value.result is result


def test_a_missing_command_exits_127(sandbox: Sandbox) -> None:
    result = run(sandbox.exec(["no-such-command-anywhere"]))
    assert result.exit_code == 127
    assert "no-such-command-anywhere" in result.stderr


def test_a_file_that_is_not_executable_exits_126(sandbox: Sandbox) -> None:
    assert run(sandbox.exec(["/etc/passwd"])).exit_code == 126


def test_cmd_must_be_an_argv_list(sandbox: Sandbox) -> None:
    with pytest.raises(TypeError, match="argv"):
        run(sandbox.exec("echo hi"))  # type: ignore[arg-type]


def test_stdin_receives_the_input(sandbox: Sandbox) -> None:
    assert run(sandbox.exec(["cat"], input="to the moon\n")).stdout == "to the moon\n"


def test_stdin_carries_binary_input_unchanged(sandbox: Sandbox) -> None:
    result = run(sandbox.exec(["od", "-An", "-tx1"], input=b"\x00\xff\xc3\x28"))
    assert result.stdout.split() == ["00", "ff", "c3", "28"]


def test_stdin_is_empty_without_input(sandbox: Sandbox) -> None:
    result = run(sandbox.exec(["cat"], timeout=20))
    assert (result.exit_code, result.stdout, result.timed_out) == (0, "", False)


def test_large_input_larger_than_any_pipe_is_delivered(sandbox: Sandbox) -> None:
    assert run(sandbox.exec(["wc", "-c"], input=b"x" * 3_000_000)).stdout.strip() == "3000000"


def test_env_comes_from_the_spec_and_the_call(sandbox: Sandbox) -> None:
    script = 'echo "$FROM_SPEC $FROM_CALL"'
    result = run(sandbox.exec(["sh", "-c", script], env={"FROM_CALL": "call"}))
    assert result.stdout == "spec call\n"


def test_env_of_the_call_overrides_the_spec(sandbox: Sandbox) -> None:
    result = run(sandbox.exec(["sh", "-c", "echo $FROM_SPEC"], env={"FROM_SPEC": "override"}))
    assert result.stdout == "override\n"


def test_cwd_defaults_to_the_work_folder(sandbox: Sandbox) -> None:
    assert run(sandbox.exec(["pwd"])).stdout.strip() == sandbox.work_dir


def test_relative_cwd_is_inside_the_work_folder(sandbox: Sandbox, scratch: str) -> None:
    assert run(sandbox.exec(["pwd"], cwd=scratch)).stdout.strip() == sandbox.resolve(scratch)


def test_absolute_cwd_is_used_as_given(sandbox: Sandbox) -> None:
    assert "passwd" in run(sandbox.exec(["ls"], cwd="/etc")).stdout


def test_a_missing_cwd_raises_file_not_found(sandbox: Sandbox) -> None:
    with pytest.raises(FileNotFoundError):
        run(sandbox.exec(["pwd"], cwd="no/such/folder"))


@needs_user_switch
def test_commands_run_as_the_spec_user(sandbox: Sandbox) -> None:
    assert run(sandbox.exec(["id", "-un"])).stdout.strip() == "nobody"


@needs_user_switch
def test_user_of_the_call_overrides_the_spec(sandbox: Sandbox) -> None:
    assert run(sandbox.exec(["id", "-un"], user="root")).stdout.strip() == "root"


def test_an_unknown_user_raises_unknown_user(sandbox: Sandbox) -> None:
    with pytest.raises(UnknownUserError, match="no-such-user"):
        run(sandbox.exec(["id"], user="no-such-user"))


def test_stdout_past_the_cap_keeps_head_and_tail_and_says_so(sandbox: Sandbox) -> None:
    script = "printf START; head -c 20000 /dev/zero | tr '\\0' m; printf END"
    result = run(sandbox.exec(["sh", "-c", script]))
    cap = sandbox.spec.output_limit_bytes
    assert result.stdout_truncated and result.stdout_bytes == 20008
    assert result.stdout.startswith("START") and result.stdout.endswith("END")
    assert f"paperbench cut {20008 - cap} bytes" in result.stdout
    assert len(result.stdout) < cap + 100


def test_stderr_is_capped_on_its_own(sandbox: Sandbox) -> None:
    result = run(sandbox.exec(["sh", "-c", "head -c 50000 /dev/zero >&2; echo fine"]))
    assert result.stderr_truncated and not result.stdout_truncated
    assert result.stdout == "fine\n" and result.stderr_bytes == 50000


def test_output_under_the_cap_is_kept_whole(sandbox: Sandbox) -> None:
    result = run(sandbox.exec(["sh", "-c", "head -c 4000 /dev/zero | tr '\\0' k"]))
    assert result.stdout == "k" * 4000 and not result.stdout_truncated


# -- timeouts --------------------------------------------------------------------------------------

TREE = """
trap '' TERM
(trap '' TERM; sleep 300 & echo $! > grandchild.pid; wait) &
echo $! > child.pid
setsid sh -c 'echo $$ > escaped.pid; exec sleep 300' &
echo started >> runs.log
wait
"""


def test_a_timeout_kills_the_whole_process_tree(sandbox: Sandbox, scratch: str) -> None:
    result = run(sandbox.exec(["sh", "-c", TREE], cwd=scratch, timeout=1))
    assert result.timed_out and not result.success
    assert 1 <= result.duration_s < 5
    pids = run(sandbox.exec(["sh", "-c", "ls *.pid"], cwd=scratch)).stdout.split()
    assert pids == ["child.pid", "escaped.pid", "grandchild.pid"]
    assert run(sandbox.exec(["sh", "-c", ALIVE_SCRIPT], cwd=scratch)).stdout == ""


def test_a_timed_out_command_is_not_run_again(sandbox: Sandbox, scratch: str) -> None:
    result = run(sandbox.exec(["sh", "-c", TREE], cwd=scratch, timeout=1))
    assert result.timed_out
    assert run(sandbox.read_file(f"{scratch}/runs.log")) == "started\n"


def test_check_raises_command_timed_out_for_a_timeout(sandbox: Sandbox) -> None:
    result = run(sandbox.exec(["sleep", "30"], timeout=0.5))
    with pytest.raises(CommandTimedOutError):
        result.check()


def test_output_written_before_a_timeout_is_kept(sandbox: Sandbox) -> None:
    result = run(sandbox.exec(["sh", "-c", "echo early; exec sleep 30"], timeout=1))
    assert result.timed_out and result.stdout == "early\n"


def test_a_command_that_finishes_in_time_is_not_timed_out(sandbox: Sandbox) -> None:
    result = run(sandbox.exec(["sh", "-c", "exit 0"], timeout=30))
    assert result.success and not result.timed_out


# -- folders and archives --------------------------------------------------------------------------


def _folder(root: Path) -> Path:
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "reproduce.sh").write_text("#!/bin/bash\necho ok\n")
    (root / "src" / "reproduce.sh").chmod(0o755)
    (root / "src" / "pkg" / "données.py").write_text("x = 1\n")
    return root / "src"


def test_upload_copies_a_folder_owned_by_the_sandbox_user(
    sandbox: Sandbox, scratch: str, tmp_path: Path
) -> None:
    run(sandbox.upload(_folder(tmp_path), f"{scratch}/submission"))
    assert run(sandbox.read_file(f"{scratch}/submission/pkg/données.py")) == "x = 1\n"
    assert run(sandbox.exec(["./reproduce.sh"], cwd=f"{scratch}/submission")).stdout == "ok\n"
    owner = run(sandbox.exec(["stat", "-c", "%U", f"{scratch}/submission/reproduce.sh"]))
    whoami = run(sandbox.exec(["id", "-un"]))
    assert owner.stdout == whoami.stdout


def test_upload_extracts_a_compressed_archive(
    sandbox: Sandbox, scratch: str, tmp_path: Path
) -> None:
    archive = tmp_path / "bundle.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("paper/paper.md")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"# Hi\n\n"))
    run(sandbox.upload(archive, scratch))
    assert run(sandbox.read_file(f"{scratch}/paper/paper.md")) == "# Hi\n\n"


def test_download_returns_an_archive_named_after_the_folder(
    sandbox: Sandbox, scratch: str, tmp_path: Path
) -> None:
    run(sandbox.upload(_folder(tmp_path), f"{scratch}/out"))
    archive = run(sandbox.download(f"{scratch}/out", tmp_path / "out.tar"))
    with tarfile.open(archive) as tar:
        assert "out/pkg/données.py" in tar.getnames()
    report = safe_extract(archive, tmp_path / "extracted")
    assert report.members >= 4
    assert (tmp_path / "extracted" / "out" / "pkg" / "données.py").read_text() == "x = 1\n"


def test_download_of_a_missing_path_raises_file_not_found(sandbox: Sandbox, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run(sandbox.download("no/such/thing", tmp_path / "x.tar"))
    assert not (tmp_path / "x.tar").exists()


# -- lifecycle -------------------------------------------------------------------------------------


def test_a_sandbox_that_was_not_started_refuses_commands(sandbox: Sandbox) -> None:
    unstarted = type(sandbox)(sandbox.spec)
    with pytest.raises(SandboxGoneError, match="not started"):
        run(unstarted.exec(["true"]))


def test_many_long_commands_do_not_hold_up_other_calls(sandbox: Sandbox) -> None:
    """Each call has its own thread: a dozen commands that never end (more than a default
    thread pool holds on a small machine) must not queue up the next call or ``close``."""

    async def scenario() -> str:
        longs = [asyncio.create_task(sandbox.exec(["sleep", "300"])) for _ in range(12)]
        quick = await asyncio.wait_for(sandbox.exec(["echo", "through"]), timeout=60)
        for task in longs:
            task.cancel()
        await asyncio.gather(*longs, return_exceptions=True)
        return quick.stdout

    assert run(scenario()) == "through\n"


# -- archive streams, stopping and freezing ----------------------------------------------------


def _names(stream: IO[bytes]) -> list[str]:
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        return [member.name for member in tar]


def _drain(stream: IO[bytes]) -> int:
    total = 0
    while chunk := stream.read(64 * 1024):
        total += len(chunk)
    return total


def test_read_archive_streams_a_folder_under_its_last_component(
    sandbox: Sandbox, scratch: str
) -> None:
    run(sandbox.write_file(f"{scratch}/out/sub/a.txt", "A"))
    names = run(sandbox.read_archive(f"{scratch}/out", _names))
    assert "out/sub/a.txt" in names and all(n.startswith("out") for n in names)


def test_read_archive_past_its_limit_raises_file_too_large(sandbox: Sandbox, scratch: str) -> None:
    run(sandbox.write_file(f"{scratch}/big.bin", b"\0" * 200_000))
    with pytest.raises(FileTooLargeError):
        run(sandbox.read_archive(f"{scratch}/big.bin", _drain, limit=50_000))


def test_read_archive_of_a_missing_path_raises_file_not_found(sandbox: Sandbox) -> None:
    with pytest.raises(FileNotFoundError):
        run(sandbox.read_archive("no/such/thing", _names))


def test_a_stopped_sandbox_keeps_its_files_and_refuses_commands(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    async def scenario() -> tuple[list[str], str]:
        async with type(sandbox)(sandbox.spec) as fresh:
            await fresh.write_file("kept.txt", "still here")
            await fresh.exec(["sh", "-c", "sleep 300 > /dev/null 2>&1 &"])
            await fresh.stop()
            await fresh.stop()
            with pytest.raises(SandboxGoneError, match="stopped"):
                await fresh.exec(["true"])
            with pytest.raises(SandboxGoneError):
                await fresh.write_file("more.txt", "x")
            names = await fresh.read_archive(fresh.work_dir, _names)
            archive = await fresh.download("kept.txt", tmp_path / "kept.tar")
            safe_extract(archive, tmp_path / "out")
            return names, (tmp_path / "out" / "kept.txt").read_text()

    names, kept = run(scenario())
    assert any(name.endswith("kept.txt") for name in names) and kept == "still here"


#: Appends a line to ticks.txt as fast as it can, in the background, for ever.
TICKER = "while :; do echo tick >> ticks.txt; done > /dev/null 2>&1 &"


def test_a_frozen_sandbox_holds_its_processes_and_refuses_commands_until_thawed(
    sandbox: Sandbox,
) -> None:
    async def scenario() -> tuple[list[int], str]:
        async with type(sandbox)(sandbox.spec) as fresh:
            await fresh.exec(["sh", "-c", TICKER])
            while not (await fresh.exec(["test", "-s", "ticks.txt"])).success:
                pass
            await fresh.freeze()
            sizes = [await fresh.read_archive("ticks.txt", _drain) for _ in range(3)]
            with pytest.raises(SandboxGoneError, match="frozen"):
                await fresh.exec(["true"])
            await fresh.thaw()
            return sizes, (await fresh.exec(["echo", "thawed"])).stdout

    sizes, after = run(scenario())
    assert sizes[0] == sizes[1] == sizes[2], "nothing ran while the sandbox was frozen"
    assert after == "thawed\n"
