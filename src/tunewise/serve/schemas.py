"""Request bodies. Strict types, unknown fields refused, empty text refused; every string passes
``tunewise.serve.texts.clean_text`` (NUL and unpaired surrogates refused, control characters removed)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, field_validator, model_validator

from tunewise.serve.texts import CleanStr


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ClassifyRequest(_Strict):
    text: CleanStr | None = Field(None, description="one text to classify")
    texts: list[CleanStr] | None = Field(None, description="several texts to classify in one call")
    model: CleanStr | None = Field(None, description="the served model's id (GET /v1/models); needed when the "
                                                     "server serves several classifiers")

    @field_validator("text")
    @classmethod
    def _text_not_empty(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("text must not be empty or whitespace")
        return v

    @field_validator("texts")
    @classmethod
    def _texts_not_empty(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            if not v:
                raise ValueError("texts must hold at least one text")
            bad = [i for i, t in enumerate(v) if not t.strip()]
            if bad:
                raise ValueError(f"texts{bad} empty or whitespace; every text needs content")
        return v

    @model_validator(mode="after")
    def _one_of(self) -> ClassifyRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give exactly one of 'text' or 'texts'")
        return self

    @property
    def items(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class FeedbackRequest(_Strict):
    id: CleanStr = Field(..., min_length=1, max_length=36, description="the id a classify/chat response returned")
    label: CleanStr | None = Field(None, min_length=1, max_length=200)
    target: CleanStr | None = Field(None, min_length=1, max_length=20000)

    @model_validator(mode="after")
    def _one(self) -> FeedbackRequest:
        if (self.label is None) == (self.target is None):
            raise ValueError("give exactly one of 'label' (classifiers) or 'target' (generation)")
        return self


class Message(_Strict):
    role: Literal["system", "user", "assistant"]
    content: CleanStr


class ResponseFormat(_Strict):
    type: Literal["text", "json_object"]


class StreamOptions(_Strict):
    include_usage: StrictBool = False


class ChatRequest(_Strict):
    """The OpenAI chat-completions request subset this server honours (greedy decoding only)."""

    model: CleanStr | None = None
    messages: list[Message] = Field(..., min_length=1)
    max_tokens: StrictInt | None = Field(None, ge=1)
    max_completion_tokens: StrictInt | None = Field(None, ge=1)
    temperature: StrictFloat | StrictInt | None = Field(None, ge=0, le=2)
    top_p: StrictFloat | StrictInt | None = Field(None, gt=0, le=1)
    n: StrictInt | None = Field(None, ge=1, le=1)
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    response_format: ResponseFormat | None = None
    user: CleanStr | None = None
    seed: StrictInt | None = None

    @model_validator(mode="after")
    def _checks(self) -> ChatRequest:
        if self.stream_options is not None and not self.stream:
            raise ValueError("stream_options is only allowed with stream=true")
        if not any(m.role == "user" and m.content.strip() for m in self.messages):
            raise ValueError("messages need at least one non-empty 'user' message")
        return self
