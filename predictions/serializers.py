import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clone_server.errors import ApiError, error_body
from clone_server.fields import StrictFloatField
from predictions.models import (
    AnsweredBy,
    EscalationReason,
    Outcome,
    Prediction,
    PredictionStatus,
)
from predictions.selectors import prediction_answer_text

MAX_BATCH_ITEMS = 100


MAX_TOOL_JSON_CHARS = 20_000
MAX_OPTIONS = 20


def _no_bad_text(value: Any, where: str) -> None:
    """Postgres stores neither NUL characters nor lone surrogates, in keys or values."""
    stack = [value]
    while stack:
        node = stack.pop()
        texts = [node] if isinstance(node, str) else []
        if isinstance(node, dict):
            texts.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        for text in texts:
            if "\x00" in text:
                raise serializers.ValidationError(f"{where}: NUL characters are not allowed.")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise serializers.ValidationError(
                    f"{where}: strings must be valid Unicode."
                ) from None


class StrictTextField(serializers.CharField):
    """Text only (DRF would turn 5 into "5"), without NUL characters."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        value = super().to_internal_value(data)
        _no_bad_text(value, "text")
        return value


class ToolInput(serializers.Serializer):
    """The action the agent asks to take: ``{"name": "Bash", "input": {"command": "ls"}}``."""

    name = StrictTextField(max_length=200, help_text="Bash, Edit, WebFetch, mcp__x__y, ...")
    input = serializers.DictField(
        required=False, default=dict, help_text="The tool's arguments as the agent sent them."
    )

    def to_internal_value(self, data):
        if isinstance(data, dict) and (unknown := set(data) - {"name", "input"}):
            raise serializers.ValidationError(
                f"Unknown field(s): {', '.join(sorted(map(str, unknown)))}."
            )
        return super().to_internal_value(data)

    def validate(self, attrs):
        if not attrs["name"].strip():
            raise serializers.ValidationError({"name": "This field may not be blank."})
        _no_bad_text(attrs["input"], "input")
        if len(json.dumps(attrs["input"])) > MAX_TOOL_JSON_CHARS:
            raise serializers.ValidationError(
                {"input": f"At most {MAX_TOOL_JSON_CHARS} characters of JSON."}
            )
        return attrs


class PredictItemInput(serializers.Serializer):
    agent = serializers.CharField(max_length=200)
    agent_input = serializers.CharField(max_length=20000, trim_whitespace=False)
    threshold = StrictFloatField(
        min_value=0.0,
        max_value=1.0,
        required=False,
        allow_null=True,
        default=None,
        help_text="The confidence needed to answer automatically. Absent or null: your "
        "threshold for this agent (agent_thresholds in your profile), else 0.8.",
    )
    k = serializers.IntegerField(min_value=1, max_value=10, default=3)
    tool = ToolInput(required=False, allow_null=True, default=None)
    options = serializers.ListField(
        child=StrictTextField(max_length=200),
        required=False,
        allow_null=True,
        default=None,
        allow_empty=False,
        max_length=MAX_OPTIONS,
        help_text='The choices the agent offers, e.g. ["yes", "no", "always"].',
    )
    cwd = StrictTextField(
        max_length=4096,
        required=False,
        allow_blank=True,
        default="",
        help_text="The agent's working directory.",
    )
    # A declared field: DRF's serializer metaclass moves it into `_declared_fields`, so it does
    # not shadow `Field.context` (which the stubs see as a class attribute).
    context = StrictTextField(  # type: ignore[assignment]
        max_length=20000,
        required=False,
        allow_blank=True,
        default="",
        help_text="A short text of what the agent was doing (last message, diff summary).",
    )
    prompt_event_id = serializers.RegexField(
        r"^[A-Za-z0-9._:-]+$",
        max_length=128,
        required=False,
        allow_null=True,
        default=None,
        help_text="The id of your agent_prompt event this prediction answers, if recorded.",
    )

    def validate_options(self, value):
        if value is not None and any(not option.strip() for option in value):
            raise serializers.ValidationError("Options may not be blank.")
        return value

    def validate_agent_input(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        if "\x00" in value:
            raise serializers.ValidationError("NUL characters are not allowed.")
        return value


class PredictInput(PredictItemInput):
    model = serializers.CharField(max_length=100, required=False, allow_null=True)


class BatchInput(serializers.Serializer):
    # `many=True` hands `max_length` to the ListSerializer; the stubs' __init__ does not list it.
    items = PredictItemInput(many=True, allow_empty=False, max_length=MAX_BATCH_ITEMS)  # type: ignore[call-arg]
    model = serializers.CharField(max_length=100, required=False, allow_null=True)


class AnswerInput(serializers.Serializer):
    reply = StrictTextField(max_length=20000, help_text="What the person actually answered.")

    def validate_reply(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        return value


class InboxFilterInput(serializers.Serializer):
    agent = serializers.CharField(max_length=200, required=False)


class FeedbackInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    actual_reply = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, default="", trim_whitespace=False
    )

    def validate(self, attrs):
        if attrs["outcome"] != Outcome.ACCEPTED and not attrs["actual_reply"].strip():
            raise serializers.ValidationError(
                {"actual_reply": "Required (non-empty) when the outcome is edited or rejected."}
            )
        if "\x00" in attrs["actual_reply"]:
            raise serializers.ValidationError({"actual_reply": "NUL characters are not allowed."})
        return attrs


class ListFilterInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=PredictionStatus.choices, required=False)
    outcome = serializers.ChoiceField(choices=[*Outcome.values, "none"], required=False)
    agent = serializers.CharField(max_length=200, required=False)


class CandidateOutput(serializers.Serializer):
    text = serializers.CharField()
    reasoning = serializers.CharField()
    confidence = serializers.FloatField()
    raw_confidence = serializers.FloatField()
    cited_facts = serializers.ListField(child=serializers.IntegerField())


class ToolOutput(serializers.Serializer):
    name = serializers.CharField()
    input = serializers.DictField()


class PredictionOutput(serializers.ModelSerializer):
    candidates = CandidateOutput(many=True)
    cited_facts = serializers.ListField(child=serializers.IntegerField())
    usage = serializers.DictField(child=serializers.IntegerField())
    tool = ToolOutput(allow_null=True)
    options = serializers.ListField(child=serializers.CharField(), allow_null=True)
    prompt_event_id = serializers.SerializerMethodField(
        help_text="The agent_prompt event this prediction answers, if any."
    )
    escalation_reason = serializers.ChoiceField(
        choices=[*EscalationReason.values, ""],
        help_text="Why the person is asked; blank when Clone answered.",
    )
    answered_by = serializers.ChoiceField(
        choices=[*AnsweredBy.values, ""],
        help_text="clone (answered automatically), person (they answered), blank (waiting).",
    )
    answer = serializers.SerializerMethodField(
        help_text="The answer the agent should act on: Clone's top candidate when Clone "
        "answered, the person's reply once they answered, null while waiting."
    )

    class Meta:
        model = Prediction
        fields = [
            "id",
            "status",
            "escalation_reason",
            "confidence",
            "raw_confidence",
            "candidates",
            "cited_facts",
            "threshold",
            "k",
            "agent",
            "agent_input",
            "tool",
            "options",
            "cwd",
            "context",
            "prompt_event_id",
            "answered_by",
            "answered_at",
            "answer",
            "model",
            "usage",
            "latency_ms",
            "outcome",
            "actual_reply",
            "feedback_at",
            "created_at",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_prompt_event_id(self, prediction: Prediction) -> str | None:
        event = prediction.prompt_event  # no query when there is no link
        return event.event_id if event is not None else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_answer(self, prediction: Prediction) -> str | None:
        return prediction_answer_text(prediction)

    def to_representation(self, prediction: Prediction) -> dict:
        # Written out by hand: the same output as the declared fields (a test holds the two
        # equal) without building a dozen field objects per instance, which a batch of 100
        # would pay 100 times.
        return {
            "id": prediction.id,
            "status": prediction.status,
            "escalation_reason": prediction.escalation_reason,
            "confidence": float(prediction.confidence),
            "raw_confidence": float(prediction.raw_confidence),
            "candidates": [
                {
                    "text": str(c["text"]),
                    "reasoning": str(c["reasoning"]),
                    "confidence": float(c["confidence"]),
                    "raw_confidence": float(c["raw_confidence"]),
                    "cited_facts": [int(i) for i in c["cited_facts"]],
                }
                for c in prediction.candidates
            ],
            "cited_facts": [int(i) for i in prediction.cited_facts],
            "threshold": float(prediction.threshold),
            "k": prediction.k,
            "agent": prediction.agent,
            "agent_input": prediction.agent_input,
            "tool": prediction.tool,
            "options": prediction.options,
            "cwd": prediction.cwd,
            "context": prediction.context,
            "prompt_event_id": self.get_prompt_event_id(prediction),
            "answered_by": prediction.answered_by,
            "answered_at": _iso(prediction.answered_at),
            "answer": self.get_answer(prediction),
            "model": prediction.model,
            "usage": {key: int(value) for key, value in prediction.usage.items()},
            "latency_ms": prediction.latency_ms,
            "outcome": prediction.outcome,
            "actual_reply": prediction.actual_reply,
            "feedback_at": _iso(prediction.feedback_at),
            "created_at": _iso(prediction.created_at),
        }


_DATETIME = serializers.DateTimeField()


def _iso(value):
    return None if value is None else _DATETIME.to_representation(value)


class BatchItemOutput(serializers.BaseSerializer):
    """One batch result: the prediction, or the error that item failed with."""

    def to_representation(self, instance):
        if isinstance(instance, ApiError):
            return error_body(instance.code, str(instance.detail), instance.details)
        return PredictionOutput(instance).data


class BatchOutput(serializers.Serializer):
    results = serializers.ListField(
        child=serializers.DictField(),
        help_text="In item order: a prediction (as from predict/) or {'error': {...}}.",
    )


class CalibrationOutput(serializers.Serializer):
    method = serializers.ChoiceField(choices=["platt", "identity"])
    a = serializers.FloatField()
    b = serializers.FloatField()
    n = serializers.IntegerField()
    fitted_at = serializers.DateTimeField(allow_null=True)


class PairOutput(serializers.Serializer):
    raw = serializers.FloatField(allow_null=True)
    calibrated = serializers.FloatField(allow_null=True)


class ReliabilityBinOutput(serializers.Serializer):
    bin = serializers.IntegerField()
    lower = serializers.FloatField()
    upper = serializers.FloatField()
    count = serializers.IntegerField()
    mean_confidence = serializers.FloatField(allow_null=True)
    mean_label = serializers.FloatField(allow_null=True)


class AuditedOutput(serializers.Serializer):
    n = serializers.IntegerField()
    precision = serializers.FloatField(allow_null=True)
    interval = serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True
    )


class StatsOutput(serializers.Serializer):
    totals = serializers.DictField()
    labelled = serializers.IntegerField()
    acceptance_rate = serializers.FloatField(allow_null=True)
    auto_precision = serializers.FloatField(allow_null=True)
    audited_precision = AuditedOutput()
    escalation_reasons = serializers.DictField(child=serializers.IntegerField())
    calibration = CalibrationOutput()
    brier = PairOutput()
    ece = PairOutput()
    reliability = ReliabilityBinOutput(many=True)


class ReliabilityPairOutput(serializers.Serializer):
    raw = ReliabilityBinOutput(many=True)
    calibrated = ReliabilityBinOutput(many=True)


class CoveragePointOutput(serializers.Serializer):
    threshold = serializers.FloatField()
    coverage = serializers.FloatField(allow_null=True)
    precision = serializers.FloatField(allow_null=True)
    n_auto = serializers.IntegerField()


class TrustOutput(serializers.Serializer):
    labelled = serializers.IntegerField()
    threshold = serializers.FloatField()
    agent_thresholds = serializers.DictField(child=serializers.FloatField())
    reliability = ReliabilityPairOutput()
    coverage = CoveragePointOutput(many=True)
