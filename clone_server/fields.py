"""Serializer fields shared by the apps."""

from rest_framework import serializers


class StrictFloatField(serializers.FloatField):
    """A JSON number only: DRF's FloatField also takes ``true`` (as 1.0) and ``"0.5"``, which a
    client sending them almost certainly did not mean and the schema does not allow."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryFlagField(serializers.Field):
    """A yes/no query parameter spelled exactly ``1``, ``true``, ``0`` or ``false``, so a typo
    is a 400 rather than a silent default. Repeated, every value must be one of those, and the
    flag is set when any of them says so."""

    SPELLINGS = {"1": True, "true": True, "0": False, "false": False}
    default_error_messages = {"invalid": "Use one of 1, true, 0, false."}

    def __init__(self, **kwargs):
        kwargs.setdefault("default", False)
        super().__init__(**kwargs)

    def get_value(self, dictionary):
        if hasattr(dictionary, "getlist"):
            return dictionary.getlist(self.field_name) or serializers.empty
        return super().get_value(dictionary)

    def to_internal_value(self, data):
        values = data if isinstance(data, list) else [data]
        if any(not isinstance(v, str) or v not in self.SPELLINGS for v in values):
            self.fail("invalid")
        return any(self.SPELLINGS[v] for v in values)

    def to_representation(self, value):
        return bool(value)
