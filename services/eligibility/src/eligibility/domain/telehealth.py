"""Telehealth coverage stated in free text: the MSG phrases (rules/telehealth_phrases.yaml) that say a benefit does
or does not cover telehealth, for payers that do not send the III facility-type codes."""

from __future__ import annotations

from dataclasses import dataclass

from rcm_shared.rules import RulesError, RulesFile


@dataclass(frozen=True, slots=True)
class TelehealthPhrases:
    """MSG phrases (upper case, matched as substrings) that state telehealth coverage."""

    covered: tuple[str, ...] = ("TELEHEALTH COVERED", "TELEMEDICINE COVERED", "VIRTUAL VISITS COVERED")
    not_covered: tuple[str, ...] = (
        "TELEHEALTH NOT COVERED", "TELEMEDICINE NOT COVERED", "VIRTUAL VISITS NOT COVERED",
    )

    @classmethod
    def from_rules(cls, rules: RulesFile) -> TelehealthPhrases:
        def phrases(key: str) -> tuple[str, ...]:
            raw = rules.section(key)
            if not isinstance(raw, list) or not all(isinstance(p, str) and p.strip() for p in raw):
                raise RulesError(rules.name, key, "must be a list of phrases")
            return tuple(p.upper() for p in raw)

        return cls(covered=phrases("covered"), not_covered=phrases("not_covered"))

    def verdict(self, message: str) -> bool | None:
        text = message.upper()
        # "not covered" phrases contain "covered" ones' words, so test them first
        if any(p in text for p in self.not_covered):
            return False
        if any(p in text for p in self.covered):
            return True
        return None
