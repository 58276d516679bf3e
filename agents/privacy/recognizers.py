"""Presidio recognizers the stock set lacks or that need changing to run offline and fast.

- phones: Presidio's PhoneRecognizer hands the whole text to libphonenumber once per region (≈ 5 s for a
  100-page 10-K); here a cheap scan finds digit runs first and libphonenumber validates only those;
- e-mail: Presidio checks the domain with tldextract, which downloads the public suffix list at first use;
  here tldextract uses the snapshot inside its wheel;
- French NIR with its key; person names and street addresses by pattern (no NER model is shipped).
"""

from __future__ import annotations

import re as std_re

import phonenumbers
import tldextract
from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import EmailRecognizer, PhoneRecognizer

# Digit runs that could be a phone number: optional +/00 and area-code parentheses, 7–15 digits with the
# separators people write. Commas and letters end a run, so table figures ("1,234 5,678") rarely qualify.
_PHONE_RUN = std_re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d \t().\-]{5,22}\d(?!\w)")
# Words in the 60 characters before a run that make a bare digit run worth validating as a phone number.
_PHONE_CONTEXT = std_re.compile(r"(?i)(phone|tel\b|tél|mobile|cell|fax|call|appel|portable|contact|whatsapp|sms)")
_OFFLINE_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class FastPhoneRecognizer(PhoneRecognizer):
    """libphonenumber validation on candidate digit runs only; a run needs a phone shape or a phone word nearby."""

    def __init__(self, regions: tuple[str, ...] = ("US", "GB", "FR")) -> None:
        super().__init__(supported_regions=regions, leniency=1, name="PhoneRecognizer")

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        """Phone numbers libphonenumber calls valid, found among the text's digit runs."""
        results: list[RecognizerResult] = []
        for run in _PHONE_RUN.finditer(text):
            chunk = run.group()
            digits = sum(c.isdigit() for c in chunk)
            if digits < 7 or digits > 15 or not _phone_shaped(chunk, text, run.start()):
                continue
            # A run is one number or none: parse it whole (PhoneNumberMatcher's search for numbers inside the run
            # costs ten times more and finds nothing a shaped run lacks). +/00 numbers carry their own region.
            regions = ("ZZ",) if chunk.startswith(("+", "00")) else self.supported_regions
            for region in regions:
                try:
                    number = phonenumbers.parse(chunk.replace("00", "+", 1) if chunk.startswith("00") else chunk, region)
                except phonenumbers.NumberParseException:
                    continue
                if phonenumbers.is_valid_number(number):
                    results.append(self._get_recognizer_result(_Span(run.start(), run.end()), text, region,
                                                               nlp_artifacts))
                    break
        return results


# Digit-group lengths of numbers as people write them with spaces: US 415 555 0132 / 1 800 555 0199, France
# 01 23 45 67 89, UK 020 7946 0958 / 0161 496 0000 / 07700 900123. Table rows ("2019 596 596") have other shapes.
_AREA_CODE = std_re.compile(r"\(\d{3}\) ?\d{3}[-. ]\d{4}")
_SPACED_SHAPES = {(3, 3, 4), (1, 3, 3, 4), (2, 2, 2, 2, 2), (3, 4, 4), (4, 3, 4), (5, 6), (4, 4, 4)}


def _phone_shaped(chunk: str, text: str, start: int) -> bool:
    # International prefixes and a US area code in parentheses are phone syntax; so are dashes and dots between
    # groups. Parentheses elsewhere are negative figures in tables: "(370) (967) (383)".
    if chunk.startswith(("+", "00")):
        return True
    if chunk.startswith("("):
        return bool(_AREA_CODE.fullmatch(chunk))
    groups = std_re.split(r"[ \t.\-/()]+", chunk.strip())
    if len(groups) >= 3 and any(c in chunk for c in "-.") and all(1 < len(g) <= 4 for g in groups[1:]):
        return True  # 555-123-4567, 01.23.45.67.89
    if tuple(len(g) for g in groups) in _SPACED_SHAPES:
        return True
    return bool(_PHONE_CONTEXT.search(text, max(0, start - 60), start))


class _Span:
    """Where a number is, shaped like the PhoneNumberMatch Presidio's result builder reads."""

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail pattern; the domain is checked against tldextract's bundled suffix list (no download)."""

    def validate_result(self, pattern_text: str) -> bool:
        """True when the domain ends in a known public suffix."""
        return _OFFLINE_TLD(pattern_text).fqdn != ""


class FrNirRecognizer(PatternRecognizer):
    """French social security number (NIR): sex, year, month, département, commune, order, 2-digit key."""

    PATTERNS = [Pattern("NIR", r"\b[12][ .]?\d{2}[ .]?(?:0[1-9]|1[0-2]|[2-9]\d)[ .]?(?:\d{2}|2[AB])[ .]?\d{3}"
                               r"[ .]?\d{3}[ .]?\d{2}\b", 0.5)]

    def __init__(self) -> None:
        super().__init__(supported_entity="FR_NIR", patterns=self.PATTERNS, name="FrNirRecognizer",
                         context=["sécurité sociale", "NIR", "numéro de sécurité sociale", "INSEE"])

    def validate_result(self, pattern_text: str) -> bool:
        """The key equals 97 - (first 13 digits mod 97); Corsica's 2A / 2B count as 19 / 18."""
        compact = std_re.sub(r"[ .]", "", pattern_text).upper().replace("2A", "19").replace("2B", "18")
        if len(compact) != 15 or not compact.isdigit():
            return False
        return 97 - int(compact[:13]) % 97 == int(compact[13:])


_CAP = r"[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]*(?:['’\-][A-ZÀ-ÖØ-Þ]?[a-zà-öø-ÿ]+)*"  # a capitalised word: Marie, O'Neil, Jean-Luc
_NAME = rf"{_CAP}(?:\s+(?:[A-Z]\.\s*)?(?:{_CAP}|[A-ZÀ-ÖØ-Þ]{{2,}}(?![a-z])))" r"{0,3}"
_TITLES = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Mme|Mlle|Me|Maître|Madame|Monsieur|Mademoiselle|Docteur)"
_FIELDS = (r"(?i:name|full name|customer|client|employee|patient|contact|account holder|cardholder|beneficiary"
           r"|nom|prénom|nom complet|titulaire|bénéficiaire|salarié|employé)")


class PersonPatternRecognizer(PatternRecognizer):
    """Names after a title (Mr., Dr., Mme), a salutation (Dear, Bonjour) or a name field ('Customer: …')."""

    PATTERNS = [
        Pattern("titled", rf"(?<=\b{_TITLES}\.?\s+){_NAME}", 0.6),
        Pattern("salutation", rf"(?<=\b(?:Dear|Hi|Hello|Bonjour|Cher|Chère)\s+){_NAME}(?=\s*[,\n!])", 0.5),
        Pattern("field", rf"(?<=\b{_FIELDS}\s*:\s*){_NAME}", 0.6),
    ]

    def __init__(self) -> None:
        # Case matters here (capitalised words), so IGNORECASE is left out of Presidio's default flags.
        super().__init__(supported_entity="PERSON", patterns=self.PATTERNS, name="PersonPatternRecognizer",
                         global_regex_flags=std_re.MULTILINE)

    def invalidate_result(self, pattern_text: str) -> bool:
        """Two letters or fewer is a title or an initial, not a name."""
        return len(pattern_text.strip()) < 3


_EN_STREET = (r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Terrace|Parkway"
              r"|Pkwy|Highway|Hwy|Square|Sq|Circle|Cir|Trail|Trl)")
_FR_STREET = r"(?i:rue|avenue|av\.|boulevard|bd|chemin|allée|place|impasse|quai|route|cours|square|passage|voie)"
_FR_LINK = r"(?:(?i:de la|de l'|de|du|des|la|le|l'|d'|aux|au|en)\s*)"


class StreetAddressRecognizer(PatternRecognizer):
    """Street addresses: '221B Baker Street, London', '1600 Pennsylvania Ave NW, Washington, DC 20500',
    '12 bis rue de la Paix, 75002 Paris'."""

    PATTERNS = [
        Pattern("en", rf"\b\d{{1,5}}[A-Za-z]?\s+(?:[A-Z][\w'.\-]*\s+){{1,4}}{_EN_STREET}\b\.?"
                      r"(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
                      r"(?:,?\s+(?:Apt|Suite|Ste|Unit|Floor|#)\.?\s*\w+)?"
                      r"(?:,\s*[A-Z][\w .'\-]{1,30}?(?:,\s*[A-Z]{2})?\s+\d{5}(?:-\d{4})?\b)?", 0.5),
        Pattern("fr", rf"\b\d{{1,4}}(?:\s?(?i:bis|ter))?,?\s+{_FR_STREET}\s+{_FR_LINK}*"
                      rf"[A-ZÀ-ÖØ-Þ][\w'’\-]*(?:\s+{_FR_LINK}*[A-ZÀ-ÖØ-Þ][\w'’\-]*){{0,4}}"
                      r"(?:,?\s+\d{5}\s+[A-ZÀ-ÖØ-Þ][\w'’\-]+(?:[ \-][A-ZÀ-ÖØ-Þ][\w'’\-]+){0,3})?", 0.5),
    ]

    def __init__(self) -> None:
        super().__init__(supported_entity="STREET_ADDRESS", patterns=self.PATTERNS, name="StreetAddressRecognizer",
                         global_regex_flags=std_re.MULTILINE)


class NoContextEnhancer(ContextAwareEnhancer):
    """Without an NLP model there are no lemmas to compare with context words; skip the pass (and its deep copies)."""

    def __init__(self) -> None:
        super().__init__(context_similarity_factor=0, min_score_with_context_similarity=0, context_prefix_count=0,
                         context_suffix_count=0)

    def enhance_using_context(self, text: str, raw_results: list[RecognizerResult], nlp_artifacts: NlpArtifacts,
                              recognizers: list, context: list[str] | None = None) -> list[RecognizerResult]:
        """The results unchanged."""
        return raw_results
