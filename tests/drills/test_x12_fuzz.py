"""Drill: mutation fuzz of every X12 reader in the codebase: no crash, only the reader's syntax error.

Seeds are real files (x12sdk's synthetic 835 / 837P / 270 / 271 / 277, our own 999, 278 request and response,
handmade TA1 and 277CA); hypothesis mutates them (cut, truncate, insert delimiters and junk, duplicate, swap or
drop segments, change an element) or sends text that was never X12. A reader may parse the input or raise
``X12SyntaxError`` (or its subclass, ``Remittance835Error``); anything else is a crash. The envelope sniffers
that route mailbox files (``rcm_shared.clearinghouse``) must never raise at all.

Scale: ``RCM_DRILL_SCALE=full`` 5,000 inputs per reader; ``make test`` 150 (fixed seed).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rcm_shared.x12 import X12SyntaxError, iter_segments, iter_segments_from_stream

pytestmark = pytest.mark.drill
FULL = os.environ.get("RCM_DRILL_SCALE", "small") == "full"
INPUTS = int(os.environ.get("RCM_DRILL_X12_INPUTS", "5000" if FULL else "150"))

ISA = "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*RCMPLATFORM    *240307*0900*^*00501*000000555*0*T*:~"
TA1 = f"{ISA}TA1*000000042*261130*0915*R*024~IEA*0*000000555~"
ACK_277CA = ISA + (
    "GS*HN*CLEARINGHOUSE*RCMPLATFORM*20240307*0900*556*X*005010X214~"
    "ST*277*0001*005010X214~BHT*0085*08*TRACE1*20240307*0900*TH~"
    "HL*1**20*1~NM1*AY*2*CLEARINGHOUSE INC*****46*CH0001~TRN*1*BATCH1~DTP*050*D8*20240307~DTP*009*D8*20240307~"
    "HL*2*1*21*1~NM1*41*2*CALM MINDS GROUP*****46*SUB123~TRN*2*000000101~STC*A1:19:PR*20240307*WQ*400~"
    "QTY*90*1~QTY*AA*1~AMT*YU*200~AMT*YY*200~"
    "HL*3*2*19*1~NM1*85*2*CALM MINDS GROUP*****XX*1234567893~TRN*1*PROV1~STC*A1:19:PR**WQ*200~"
    "HL*4*3*PT~NM1*QC*1*DOE*JANE****MI*W123456789~TRN*2*PCN0001~STC*A2:20:PR*20240307*WQ*200~"
    "REF*1K*PAYER-77~REF*D9*CHTRACE1~DTP*472*D8*20240304~"
    "HL*5*3*PT~NM1*QC*1*DOE*SAM****MI*W123456789~TRN*2*PCN0002~"
    "STC*A7:21:IL*20240307*U*200******A7:562:85~DTP*472*D8*20240304~"
    "SE*27*0001~GE*1*556~IEA*1*000000555~"
)


def _authorization_request() -> Any:
    from authorizations.domain.model import AuthorizationRequest, RequestedService

    return AuthorizationRequest(
        payer_id="SBXHP", payer_name="SANDBOX HEALTH PLAN", requester_npi="1234567893", requester_name="CALM CLINIC",
        member_id="SBX000004", subscriber_last_name="SAMPLE", subscriber_first_name="ALEX",
        subscriber_birth_date=date(1990, 1, 1), rendering_npi="1245319599", rendering_last_name="RIVERA",
        rendering_first_name="SAM", diagnosis_codes=("F331",), services=(RequestedService("90837", 12),),
        start=date(2026, 3, 1), end=date(2026, 5, 29), trace_number="TRACE9")


@cache
def seeds() -> dict[str, str]:
    """One real file per transaction, made by the same code (or generator) the platform meets in practice."""
    from authorizations.domain.review import ReviewResponse, ServiceOutcome
    from authorizations.edi.x12_278 import build_278
    from authorizations.edi.x12_278_response import build_278_response
    from claims.edi.acknowledgments import build_999_for
    from claims.edi.claim_status import answer_276
    from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties
    from x12sdk.generate import generate_270, generate_271, generate_276, generate_835, generate_837p

    control = ControlNumbers(21, 21, 1, datetime(2026, 3, 2, 11, 5))
    request = _authorization_request()
    certified = ReviewResponse(
        "TRACE9", "9RCMPLATFM", "A1", "SBXAUTH9", start=date(2026, 3, 1), end=date(2026, 5, 29), approved_units=12,
        services=(ServiceOutcome("90837", 12, "A1", "SBXAUTH9", "", 12, date(2026, 3, 1), date(2026, 5, 29)),),
        payer_id="SBXHP")
    claims_837 = generate_837p(seed=1, claims=2)
    return {
        "835": generate_835(seed=1, claims=3),
        "837P": claims_837,
        "999": build_999_for(claims_837) or "",
        "TA1": TA1,
        "277CA": ACK_277CA,
        "277": answer_276(generate_276(seed=1)),
        "270": generate_270(seed=1, members=2),
        "271": generate_271(seed=1, members=2),
        "278": build_278(request, control, InterchangeParties("RCMPLATFORM", "SBXUMO")),
        "278-response": build_278_response(request, certified, control, InterchangeParties("SBXUMO", "RCMPLATFORM")),
    }


def _chunks(text: str, size: int = 7) -> Iterator[str]:
    return (text[i:i + size] for i in range(0, len(text), size))


def _readers() -> dict[str, tuple[Callable[[str], object], str]]:
    """reader name -> (read the text, the seed it is fed)."""
    from authorizations.edi.x12_278 import read_278
    from authorizations.edi.x12_278_response import read_278_response
    from claims.edi.acknowledgments import read_277ca, read_999, read_ta1
    from claims.edi.claim_status import read_277
    from claims.edi.x12_837_reader import read_837p
    from eligibility.edi.x12_270 import read_270
    from eligibility.edi.x12_271 import read_271
    from remittance.edi.era_reader import iter_remittance, read_remittances

    return {
        "tokenizer": (lambda t: list(iter_segments(t)), "837P"),
        "tokenizer-stream": (lambda t: list(iter_segments_from_stream(_chunks(t))), "835"),
        "835-strict": (lambda t: read_remittances(t, strict=True), "835"),
        "835-stream": (lambda t: list(iter_remittance(_chunks(t, 64), strict=False)), "835"),
        "837P": (read_837p, "837P"),
        "999": (read_999, "999"),
        "TA1": (read_ta1, "TA1"),
        "277CA": (read_277ca, "277CA"),
        "277": (read_277, "277"),
        "270": (read_270, "270"),
        "271": (read_271, "271"),
        "278-request": (read_278, "278"),
        "278-response": (read_278_response, "278-response"),
    }


JUNK = st.sampled_from(["*", "~", ":", "^", "\n", "\r\n", "\x00", "\x1d", "é", "ISA", "SE*", "IEA*1*",
                        "HL*1**20*1~", "CLP*", "*" * 40, "~~~", "9" * 30, "-1", "1e400", "NaN", "20241340",
                        "99999999", "ST*835*0001~", "GS*", "\ufeff"])


@st.composite
def mutated(draw: st.DrawFn, seed_text: str) -> str:
    text = seed_text
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cut", "truncate", "insert", "replace", "duplicate", "drop", "swap",
                                     "element"]))
        size = len(text)
        at = draw(st.integers(0, max(size - 1, 0)))
        if kind == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif kind == "truncate":
            text = text[:at]
        elif kind == "insert":
            text = text[:at] + draw(st.one_of(JUNK, st.text(max_size=12))) + text[at:]
        elif kind == "replace":
            text = text[:at] + draw(JUNK) + text[at + 1:]
        else:
            segments = text.split("~")
            i = draw(st.integers(0, max(len(segments) - 1, 0)))
            j = draw(st.integers(0, max(len(segments) - 1, 0)))
            if kind == "duplicate":
                segments.insert(i, segments[j])
            elif kind == "drop" and len(segments) > 1:
                segments.pop(i)
            elif kind == "swap":
                segments[i], segments[j] = segments[j], segments[i]
            elif kind == "element":
                elements = segments[i].split("*")
                k = draw(st.integers(0, max(len(elements) - 1, 0)))
                elements[k] = draw(st.one_of(JUNK, st.text(max_size=10), st.just("")))
                segments[i] = "*".join(elements)
            text = "~".join(segments)
    return text


def inputs(seed_text: str) -> st.SearchStrategy[str]:
    return st.one_of(
        mutated(seed_text),
        mutated(seed_text),
        mutated(seed_text),
        st.text(max_size=300),  # never X12
        st.builds(lambda tail: ISA + tail, st.text(max_size=200)),  # a good envelope, then anything
    )


@pytest.mark.parametrize("reader_name", list(_readers()))
def test_a_reader_parses_or_raises_its_syntax_error_never_crashes(reader_name: str) -> None:
    read, seed_name = _readers()[reader_name]
    seed_text = seeds()[seed_name]
    read(seed_text)  # the seed itself is a file the reader accepts
    outcomes: Counter[str] = Counter()
    crashes: list[str] = []

    @settings(max_examples=INPUTS, deadline=None, database=None, derandomize=not FULL,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(text=inputs(seed_text))
    def feed(text: str) -> None:
        try:
            read(text)
            outcomes["parsed"] += 1
        except X12SyntaxError:
            outcomes["syntax_error"] += 1
        except Exception as exc:  # what the drill is looking for
            outcomes["crash"] += 1
            crashes.append(f"{type(exc).__name__}: {exc}"[:200])

    feed()
    print(f"DRILL x12_fuzz: reader={reader_name} inputs={sum(outcomes.values())} parsed={outcomes['parsed']} "
          f"syntax_errors={outcomes['syntax_error']} crashes={outcomes['crash']}")
    assert not crashes, sorted(set(crashes))[:10]


def test_the_mailbox_sniffers_never_raise() -> None:
    from rcm_shared.clearinghouse import implementation_of, is_interchange_acknowledgment, transaction_set_id

    every_seed = list(seeds().values())
    seen: Counter[str] = Counter()

    @settings(max_examples=INPUTS, deadline=None, database=None, derandomize=not FULL,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(text=st.sampled_from(every_seed).flatmap(inputs), encoding=st.sampled_from(["utf-8", "latin-1"]))
    def sniff(text: str, encoding: str) -> None:
        head = text.encode(encoding, errors="replace")[:4096]
        seen[str(transaction_set_id(head))] += 1
        implementation_of(head)
        is_interchange_acknowledgment(head)

    sniff()
    print(f"DRILL x12_fuzz: reader=mailbox-sniffers inputs={sum(seen.values())} "
          f"transaction_sets_seen={len(seen)} crashes=0")
