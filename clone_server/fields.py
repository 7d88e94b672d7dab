"""Serializer fields shared by the apps."""

from rest_framework import serializers


class StrictFloatField(serializers.FloatField):
    """A JSON number only: DRF's FloatField also takes ``true`` (as 1.0) and ``"0.5"``, which a
    client sending them almost certainly did not mean and the schema does not allow."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)
