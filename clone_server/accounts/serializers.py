from rest_framework import serializers

from clone_server.accounts.models import ApiKey


class ApiKeyCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeyOutput(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at"]


class ApiKeyCreatedOutput(ApiKeyOutput):
    """The new key with its secret, which exists only in this response (pass it as context)."""

    key = serializers.SerializerMethodField(help_text="The secret. Shown once; store it now.")

    class Meta(ApiKeyOutput.Meta):
        fields = [*ApiKeyOutput.Meta.fields, "key"]

    def get_key(self, api_key: ApiKey) -> str:
        return self.context["key"]
