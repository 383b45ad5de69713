"""Building 270 inquiries, checked against pyx12 and read back."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from eligibility.domain.benefits import (
    EligibilityRequest,
    Member,
    PayerRef,
    ProviderRef,
)
from eligibility.edi.x12_270 import build_270, build_270_batch, build_270_transaction, read_270
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties
from rcm_shared.x12.writer import X12ValueError

CONTROL = ControlNumbers(interchange=12, group=3, transaction=7, created_at=datetime(2026, 3, 2, 8, 15))
PARTIES = InterchangeParties(sender_id="CLINIC01", receiver_id="CLEARHOUSE")


def _request() -> EligibilityRequest:
    return EligibilityRequest(
        payer=PayerRef("ACME01", "ACME HEALTH"), provider=ProviderRef("1234567893", "CALM CLINIC"),
        subscriber=Member("DOE", "JANE", date(1990, 1, 2), "W100200300", "F"),
        service_date=date(2026, 3, 5), trace_number="TRC0001",
    )


def _replace(base: EligibilityRequest, changes: dict[str, object]) -> EligibilityRequest:
    return replace(base, **changes)  # type: ignore[arg-type]


def _lines(text: str) -> list[str]:
    return [line.rstrip("~") for line in text.splitlines()]


def test_subscriber_inquiry_layout() -> None:
    lines = _lines(build_270(_request(), CONTROL, PARTIES))
    assert len(lines[0]) == 105  # ISA is fixed width: 106 with its terminator
    assert lines[2] == "ST*270*0007*005010X279A1"
    assert lines[3].startswith("BHT*0022*13*TRC0001*20260302*0815")
    assert "HL*3*2*22*0" in lines and "TRN*1*TRC0001*9RCMPLATFM" in lines
    assert "NM1*IL*1*DOE*JANE****MI*W100200300" in lines and "DTP*291*D8*20260305" in lines
    assert [x for x in lines if x.startswith("EQ*")] == [f"EQ*{c}" for c in ("30", "MH", "A4", "A6", "A8", "AI", "98")]
    se = next(x for x in lines if x.startswith("SE*"))
    st_index = lines.index("ST*270*0007*005010X279A1")
    assert se == f"SE*{lines.index(se) - st_index + 1}*0007"
    assert lines[-1] == "IEA*1*000000012"


def test_dependent_inquiry_puts_eq_under_the_dependent() -> None:
    request = _replace(_request(), {"dependent": Member("DOE", "SAM", date(2015, 5, 5), gender="M")})
    lines = _lines(build_270(request, CONTROL, PARTIES))
    assert "HL*3*2*22*1" in lines and "HL*4*3*23*0" in lines
    assert lines.index("NM1*03*1*DOE*SAM") < lines.index("EQ*30")
    assert lines.index("HL*4*3*23*0") < lines.index("TRN*1*TRC0001*9RCMPLATFM")


@pytest.mark.parametrize(
    "changes",
    [
        {"subscriber": Member("DOE*X", "JANE", None, "W1")},
        {"subscriber": Member("DOE", "JANE", None, "")},
        {"provider": ProviderRef("123", "CLINIC")},
        {"service_types": ()},
        {"service_types": ("A6~",)},
    ],
)
def test_values_that_cannot_be_sent_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(X12ValueError) as caught:
        build_270(_replace(_request(), changes), CONTROL, PARTIES)
    assert "DOE" not in str(caught.value)  # no PHI in messages


def test_read_270_round_trip() -> None:
    request = _replace(_request(), {"service_types": ("30", "A6")})
    (received,) = read_270(build_270(request, CONTROL, PARTIES))
    assert received.request == request
    assert received.trace_originator == "9RCMPLATFM"


def _batch() -> tuple[list[EligibilityRequest], str]:
    requests = [
        _request(),
        _replace(_request(), {"trace_number": "TRC0002", "subscriber": Member("ROE", "RAY", None, "W200")}),
        _replace(_request(), {"trace_number": "TRC0003", "provider": ProviderRef("1245319599", "OTHER CLINIC"),
                              "dependent": Member("DOE", "SAM", date(2015, 5, 5), gender="M")}),
    ]
    transactions = [build_270_transaction(r, f"{i:04d}", CONTROL.created_at, PARTIES) for i, r in
                    enumerate(requests, 1)]
    return requests, build_270_batch(transactions, CONTROL, PARTIES)


def test_batch_holds_one_transaction_per_inquiry_in_one_group() -> None:
    _, text = _batch()
    lines = _lines(text)
    assert [x for x in lines if x.startswith("ST*")] == [f"ST*270*{i:04d}*005010X279A1" for i in (1, 2, 3)]
    assert [x.split("*")[3] for x in lines if x.startswith("BHT*")] == ["TRC0001", "TRC0002", "TRC0003"]
    assert sum(x.startswith("GS*") for x in lines) == 1 and lines[-2] == "GE*3*3"


def test_read_270_reads_every_inquiry_of_a_batch_with_its_transaction() -> None:
    requests, text = _batch()
    received = read_270(text)
    assert [r.request for r in received] == requests
    assert [(r.transaction_control, r.bht_reference) for r in received] == [
        ("0001", "TRC0001"), ("0002", "TRC0002"), ("0003", "TRC0003")]


def test_an_empty_batch_is_refused() -> None:
    with pytest.raises(X12ValueError):
        build_270_batch([], CONTROL, PARTIES)


# ------------------------------------------------------------------------------------------- pyx12


def _exe(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).parent / name)


@pytest.fixture(scope="module")
def x279_map_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pyx12 4.0.0 ships no 005010X279A1 map (its maps.xml has the 5010 270 line commented out), so we derive one
    from its 004010X092A1 270 map with the 5010 differences that matter for what we send: the 5010 ISA
    (repetition separator, 00501) and GS08, ST03 = 005010X279A1, DTP*291 and service type MH."""
    import pyx12

    source = Path(pyx12.__file__).parent / "map"
    target = tmp_path_factory.mktemp("pyx12") / "map"
    shutil.copytree(source, target)
    tree = ET.parse(source / "270.4010.X092.A1.xml")  # noqa: S314 (maps shipped inside pyx12, not input)
    root = tree.getroot()
    ref = ET.parse(source / "835.5010.X221.A1.xml").getroot()  # noqa: S314
    isa_loop = root.find(".//loop[@xid='ISA_LOOP']")
    old_isa = root.find(".//segment[@xid='ISA']")
    new_isa = ref.find(".//segment[@xid='ISA']")
    assert isa_loop is not None and old_isa is not None and new_isa is not None
    position = list(isa_loop).index(old_isa)
    isa_loop.remove(old_isa)
    isa_loop.insert(position, copy.deepcopy(new_isa))
    gs08 = root.find(".//element[@xid='GS08']")
    assert gs08 is not None
    for code in gs08.iter("code"):
        code.text = "005010X279A1"
    st = root.find(".//segment[@xid='ST']")
    st03 = copy.deepcopy(ref.find(".//element[@xid='ST03']"))
    assert st is not None and st03 is not None
    st03.find("valid_codes/code").text = "005010X279A1"  # type: ignore[union-attr]
    st03.find("usage").text = "R"  # type: ignore[union-attr]
    st.append(st03)
    for element in root.iter("element"):
        extra = {"DTP01": "291", "EQ01": "MH"}.get(element.get("xid", ""))
        codes = element.find("valid_codes")
        if extra and codes is not None:
            ET.SubElement(codes, "code").text = extra
    tree.write(target / "270.5010.X279.A1.xml", encoding="utf-8", xml_declaration=True)
    maps = (target / "maps.xml").read_text()
    line = '<map vriic="005010X279A1" fic="HS" abbr="270">270.5010.X279.A1.xml</map>'
    (target / "maps.xml").write_text(maps.replace('<version icvn="00501">', f'<version icvn="00501">\n{line}', 1))
    return target


def _x12valid(map_dir: Path, path: Path) -> str:
    # x12valid exits 1 even when the file is fine: the verdict is in its text
    done = subprocess.run([_exe("x12valid"), "-m", str(map_dir), str(path)], capture_output=True, text=True,
                          timeout=120, check=False)
    return done.stdout + done.stderr


@pytest.mark.parametrize("dependent", [None, Member("DOE", "SAM", date(2015, 5, 5), gender="M")])
def test_our_270_passes_pyx12(x279_map_dir: Path, tmp_path: Path, dependent: Member | None) -> None:
    path = tmp_path / "inquiry.x12"
    path.write_text(build_270(_replace(_request(), {"dependent": dependent}), CONTROL, PARTIES))
    report = _x12valid(x279_map_dir, path)
    assert f"{path}: OK" in report, report


def test_our_batch_270_passes_pyx12(x279_map_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "batch.x12"
    path.write_text(_batch()[1])
    report = _x12valid(x279_map_dir, path)
    assert f"{path}: OK" in report, report


def test_pyx12_check_can_fail(x279_map_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "broken.x12"
    path.write_text(build_270(_request(), CONTROL, PARTIES).replace("MI*W100200300", "MI*W100*200300"))
    assert "Failure" in _x12valid(x279_map_dir, path)
