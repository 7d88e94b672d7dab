from rest_framework import serializers

from clone_server.errors import ApiError, error_body
from clone_server.fields import StrictFloatField
from predictions.models import Outcome, Prediction, PredictionStatus

MAX_BATCH_ITEMS = 100


class PredictItemInput(serializers.Serializer):
    agent = serializers.CharField(max_length=200)
    agent_input = serializers.CharField(max_length=20000, trim_whitespace=False)
    threshold = StrictFloatField(min_value=0.0, max_value=1.0, default=0.8)
    k = serializers.IntegerField(min_value=1, max_value=10, default=3)

    def validate_agent_input(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        if "\x00" in value:
            raise serializers.ValidationError("NUL characters are not allowed.")
        return value


class PredictInput(PredictItemInput):
    model = serializers.CharField(max_length=100, required=False, allow_null=True)


class BatchInput(serializers.Serializer):
    items = PredictItemInput(many=True, allow_empty=False, max_length=MAX_BATCH_ITEMS)
    model = serializers.CharField(max_length=100, required=False, allow_null=True)


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


class PredictionOutput(serializers.ModelSerializer):
    candidates = CandidateOutput(many=True)
    cited_facts = serializers.ListField(child=serializers.IntegerField())
    usage = serializers.DictField(child=serializers.IntegerField())

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
            "model",
            "usage",
            "latency_ms",
            "outcome",
            "actual_reply",
            "feedback_at",
            "created_at",
        ]

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
