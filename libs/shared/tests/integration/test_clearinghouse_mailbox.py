"""The clearinghouse mailbox transports against real servers started here: SFTP (asyncssh) and HTTPS
(uvicorn, self-signed certificate) on 127.0.0.1; fixtures from rcm_shared.testing.clearinghouse."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from rcm_shared.clearinghouse import HEAD_BYTES, HttpsMailbox, MailboxFile, MailboxUnavailable, transaction_set_id
from rcm_shared.testing.clearinghouse import API_KEY, HttpsSite, SftpSite, free_socket

pytestmark = pytest.mark.integration

ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261130*1200*^*00501*000000001*0*T*:~"
BATCH = (ISA + "GS*HC*S*R*20261130*1200*1*X*005010X222A1~ST*837*0001*005010X222A1~").encode()


def _x12(transaction: str) -> bytes:
    return (ISA + f"GS*XX*S*R*20261130*1200*1*X*005010~ST*{transaction}*0001~SE*2*0001~GE*1*1~IEA*1*000000001~"
            ).encode()


def _not_835s(name: str, head: bytes) -> bool:
    return transaction_set_id(head) != "835"


def _835s(name: str, head: bytes) -> bool:
    return transaction_set_id(head) == "835"


# ------------------------------------------------------------------------------------------ SFTP

async def test_sftp_drop_writes_atomically_into_inbound(sftp_site: SftpSite) -> None:
    already = await sftp_site.mailbox().drop("837P_SBXHP_000000001.x12", BATCH)

    assert already is False
    assert (sftp_site.inbound / "837P_SBXHP_000000001.x12").read_bytes() == BATCH
    # written under a temporary name of its own and renamed: the clearinghouse never picks up half a file
    [(write, partial), (rename, renamed, target)] = sftp_site.log
    assert (write, rename, renamed, target) == ("write", "rename", partial, "inbound/837P_SBXHP_000000001.x12")
    assert partial.startswith("inbound/837P_SBXHP_000000001.x12.") and partial.endswith(".part")
    assert sorted(p.name for p in sftp_site.inbound.iterdir()) == ["837P_SBXHP_000000001.x12"]


async def test_sftp_drop_streams_a_local_file_and_detects_a_resubmission(sftp_site: SftpSite,
                                                                        tmp_path: Path) -> None:
    big = tmp_path / "batch.x12"
    big.write_bytes(BATCH * 40_000)  # ~8 MB: sent in chunks, never read whole
    mailbox = sftp_site.mailbox()

    first = await mailbox.drop("837P_SBXHP_000000002.x12", big)
    writes_before = list(sftp_site.log)
    again = await mailbox.drop("837P_SBXHP_000000002.x12", b"A DIFFERENT BODY")

    assert (first, again) == (False, True)
    assert sftp_site.log == writes_before
    assert (sftp_site.inbound / "837P_SBXHP_000000002.x12").read_bytes() == big.read_bytes()


@pytest.mark.parametrize("second", ["fails half way", "completes first"])
async def test_sftp_two_senders_of_one_file_never_leave_half_of_it_under_its_name(sftp_site: SftpSite,
                                                                                 second: str) -> None:
    """Two senders of one batch at once (two replicas, an operator's resend): whatever the second does while the
    first is still writing, the file that appears under the name is whole, and no temporary file is left."""
    body = BATCH + b"X" * 200_000
    wrote, release = asyncio.Event(), asyncio.Event()

    async def first_sender() -> AsyncIterator[bytes]:
        yield body
        wrote.set()
        await release.wait()  # all written, not yet renamed

    async def second_sender() -> AsyncIterator[bytes]:
        yield body[:1000]
        if second == "fails half way":
            raise RuntimeError("the second sender's source failed")
        yield body[1000:]

    name = "837P_SBXHP_000000009.x12"
    first = asyncio.create_task(sftp_site.mailbox().drop(name, first_sender()))
    await wrote.wait()
    if second == "fails half way":
        with pytest.raises(RuntimeError):
            await sftp_site.mailbox().drop(name, second_sender())
    else:
        assert await sftp_site.mailbox().drop(name, second_sender()) is False
    release.set()

    # the first finds the file there when it renames (the second's, whole): "already there", not an error
    assert await first is (second == "completes first")
    assert (sftp_site.inbound / name).read_bytes() == body
    assert [p.name for p in sftp_site.inbound.iterdir()] == [name]


async def test_sftp_two_readers_share_one_mailbox_each_taking_its_own_kinds(sftp_site: SftpSite) -> None:
    outbound = sftp_site.outbound
    (outbound / "999_A.x12").write_bytes(_x12("999"))
    (outbound / "ERA_B.x12").write_bytes(_x12("835"))
    (outbound / "277CA_C.x12").write_bytes(_x12("277"))
    (outbound / "ERA_D.x12.part").write_bytes(b"half an 835")  # still being written by the clearinghouse

    acknowledgments = await sftp_site.mailbox().pick_up(_not_835s)
    remittances = await sftp_site.mailbox().pick_up(_835s)

    assert [f.name for f in acknowledgments] == ["277CA_C.x12", "999_A.x12"]
    assert remittances == [MailboxFile("ERA_B.x12", _x12("835"))]
    assert len(list(outbound.iterdir())) == 4, "nothing is removed before the caller says so"
    for file in remittances:
        await sftp_site.mailbox().remove(file.name)
    assert sorted(p.name for p in outbound.iterdir()) == ["277CA_C.x12", "999_A.x12", "ERA_D.x12.part"]
    assert await sftp_site.mailbox().pick_up(_835s) == []


async def test_sftp_a_refused_removal_leaves_the_file_to_come_again(sftp_site: SftpSite) -> None:
    (sftp_site.outbound / "ERA_A.x12").write_bytes(_x12("835"))
    sftp_site.refuse_remove.add("ERA_A.x12")

    with pytest.raises(MailboxUnavailable):
        await sftp_site.mailbox().remove("ERA_A.x12")
    sftp_site.refuse_remove.clear()
    assert [f.name for f in await sftp_site.mailbox().pick_up()] == ["ERA_A.x12"]


async def test_sftp_server_down_wrong_password_or_missing_folder_is_unavailable(sftp_site: SftpSite) -> None:
    with pytest.raises(MailboxUnavailable) as raised:
        await sftp_site.mailbox(password="not-the-password").drop("837P_X.x12", BATCH)
    assert "not-the-password" not in str(raised.value)
    with pytest.raises(MailboxUnavailable):
        await sftp_site.mailbox(pickup_dir="no-such-folder").pick_up()
    mailbox = sftp_site.mailbox()
    await sftp_site.close()
    with pytest.raises(MailboxUnavailable):
        await mailbox.pick_up()
    assert list(sftp_site.inbound.iterdir()) == []


# ------------------------------------------------------------------------------------------ HTTPS

async def test_https_drop_then_drop_again_is_idempotent_by_name(https_site: HttpsSite, tmp_path: Path) -> None:
    local = tmp_path / "batch.x12"
    local.write_bytes(BATCH * 1000)

    first = await https_site.mailbox().drop("837P_SBXHP_000000001.x12", local)
    again = await https_site.mailbox().drop("837P_SBXHP_000000001.x12", b"A DIFFERENT BODY")

    assert (first, again) == (False, True)
    assert https_site.api.submissions == {"837P_SBXHP_000000001.x12": BATCH * 1000}
    assert https_site.api.content_types["837P_SBXHP_000000001.x12"] == "application/edi-x12"


async def test_https_pick_up_takes_only_wanted_files_and_removes_on_request(https_site: HttpsSite) -> None:
    https_site.api.responses.update({"999_A.x12": _x12("999"), "ERA_B.x12": _x12("835")})

    files = await https_site.mailbox().pick_up(_835s)

    assert files == [MailboxFile("ERA_B.x12", _x12("835"))]
    assert len(https_site.api.responses) == 2, "nothing is deleted before the caller says so"
    await https_site.mailbox().remove("ERA_B.x12")
    assert list(https_site.api.responses) == ["999_A.x12"]


async def test_https_names_that_need_quoting_are_fetched_and_removed(https_site: HttpsSite) -> None:
    names = ["ERA #7.x12", "999?batch=1.x12", "277 50%.x12"]
    https_site.api.responses.update({name: _x12("999") for name in names})

    files = await https_site.mailbox().pick_up(_not_835s)

    assert sorted(f.name for f in files) == sorted(names)
    for file in files:
        await https_site.mailbox().remove(file.name)
    assert https_site.api.responses == {}


async def test_https_pick_up_reads_only_the_head_of_a_file_it_does_not_want() -> None:
    """A shared mailbox holds the other service's files too (an 835 can be tens of MB): they are not
    downloaded whole at every pickup."""
    big_835 = _x12("835") + b"CLP*X~" * 500_000
    served: dict[str, int] = {}

    class Counted(httpx.AsyncByteStream):
        def __init__(self, name: str, body: bytes) -> None:
            self.name, self.body = name, body

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for start in range(0, len(self.body), 1024):
                served[self.name] = served.get(self.name, 0) + 1024
                yield self.body[start:start + 1024]

    files = {"999_A.x12": _x12("999"), "ERA_B.x12": big_835}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/responses":
            return httpx.Response(200, json={"files": sorted(files)})
        name = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(200, stream=Counted(name, files[name]))

    mailbox = HttpsMailbox("https://clearinghouse.test", API_KEY, transport=httpx.MockTransport(answer))
    taken = await mailbox.pick_up(_not_835s)

    assert taken == [MailboxFile("999_A.x12", _x12("999"))]
    assert served["ERA_B.x12"] <= HEAD_BYTES + 1024, "the 835 was downloaded to be thrown away"
    assert await mailbox.pick_up(_835s) == [MailboxFile("ERA_B.x12", big_835)]


@pytest.mark.parametrize("trouble", ["wrong key", "503", "maintenance page", "untrusted certificate"])
async def test_https_trouble_is_unavailable_and_changes_nothing(https_site: HttpsSite, trouble: str) -> None:
    https_site.api.responses["999_A.x12"] = _x12("999")
    mailbox = https_site.mailbox()
    if trouble == "wrong key":
        mailbox = https_site.mailbox(api_key="wrong-key")
    elif trouble == "503":
        https_site.api.fail_with = 503
    elif trouble == "maintenance page":
        https_site.api.listing_override = b"<html>down for maintenance</html>"
    else:
        mailbox = https_site.mailbox(verify=True)

    with pytest.raises(MailboxUnavailable) as raised:
        await mailbox.pick_up()
    if trouble != "maintenance page":
        with pytest.raises(MailboxUnavailable):
            await mailbox.drop("837P_X.x12", BATCH)
    assert "wrong-key" not in str(raised.value)
    assert https_site.api.submissions == {}
    assert list(https_site.api.responses) == ["999_A.x12"]


async def test_https_server_down_is_unavailable(https_site: HttpsSite) -> None:
    with free_socket() as sock:  # bound but never listening: connections are refused
        mailbox = HttpsMailbox(f"https://127.0.0.1:{sock.getsockname()[1]}", API_KEY, timeout=5.0,
                               verify=str(https_site.cert))
        with pytest.raises(MailboxUnavailable):
            await mailbox.drop("837P_X.x12", BATCH)
        with pytest.raises(MailboxUnavailable):
            await mailbox.pick_up()


async def test_pick_up_one_at_a_time_skipping_what_this_round_took(sftp_site: SftpSite,
                                                                   https_site: HttpsSite) -> None:
    for name in ("ERA_1.835", "ERA_2.835", "ERA_3.835"):
        (sftp_site.outbound / name).write_bytes(_x12("835"))
        https_site.api.responses[name] = _x12("835")
    (sftp_site.outbound / "999_A.x12").write_bytes(_x12("999"))
    for mailbox in (sftp_site.mailbox(), https_site.mailbox()):
        taken: list[str] = []
        while files := await mailbox.pick_up(_835s, skip=taken, max_files=1):
            assert len(files) == 1
            taken.append(files[0].name)
        assert taken == ["ERA_1.835", "ERA_2.835", "ERA_3.835"]
