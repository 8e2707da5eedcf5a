from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not declare (400, one error per field): prices, totals, statuses and
    owners never come from a client, and a typo is an error rather than silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field is not accepted."] for name in unknown}
                )
        return super().to_internal_value(data)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """The schema says so too: `additionalProperties: false` on request bodies."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema
