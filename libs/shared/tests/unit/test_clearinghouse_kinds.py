"""Which transaction a returned file holds, from its first bytes: any delimiters the ISA declares."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rcm_shared.clearinghouse import implementation_of, transaction_set_id

ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261130*1200*^*00501*000000001*0*T*:~"


def _file(transaction: str, version: str, element: str = "*", terminator: str = "~", newline: str = "") -> bytes:
    isa = ISA.replace("*", element).replace(":~", ":" + terminator)
    rest = f"GS*HP*S*R*20261130*1200*1*X*{version}~ST*{transaction}*0001*{version}~".replace("*", element)
    return (isa + newline + rest.replace("~", terminator + newline)).encode()


def test_reads_st01_and_gs08_with_any_declared_delimiters() -> None:
    assert transaction_set_id(_file("835", "005010X221A1")) == "835"
    assert implementation_of(_file("277", "005010X212")) == "005010X212"
    assert transaction_set_id(_file("999", "005010X231A1", element="|", terminator="\n")) == "999"
    assert transaction_set_id(_file("277", "005010X214", newline="\r\n")) == "277"
    assert transaction_set_id(b"\xef\xbb\xbf" + _file("835", "005010X221A1")) == "835"  # a UTF-8 BOM
    assert transaction_set_id(b"PK\x03\x04 a zip file") is None
    assert transaction_set_id(b"") is None


@given(st.binary(max_size=400))
def test_never_raises_on_any_bytes(data: bytes) -> None:
    assert transaction_set_id(data) is None or isinstance(transaction_set_id(data), str)
    implementation_of(data)
