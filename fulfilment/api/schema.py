"""Named OpenAPI components for fulfilment's status enums.

drf-spectacular names extracted enums after the field (`status`), which collides with every other
app's `status`; a component of our own keeps the names stable without a project-wide override.
"""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

from fulfilment.enums import PackingTaskStatus, ShipmentStatus


class PackingTaskStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(choices=PackingTaskStatus.choices, **kwargs)


class ShipmentStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(choices=ShipmentStatus.choices, **kwargs)


class _EnumComponentExtension(OpenApiSerializerFieldExtension):
    component_name: str
    choices: type[PackingTaskStatus] | type[ShipmentStatus]

    def map_serializer_field(self, auto_schema, direction):
        component = ResolvedComponent(
            name=self.component_name,
            type=ResolvedComponent.SCHEMA,
            object=self.component_name,
            schema={
                "type": "string",
                "enum": list(self.choices.values),
                "description": "\n".join(
                    f"* `{value}` - {label}" for value, label in self.choices.choices
                ),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class PackingTaskStatusFieldExtension(_EnumComponentExtension):
    target_class = PackingTaskStatusField
    component_name = "PackingTaskStatus"
    choices = PackingTaskStatus


class ShipmentStatusFieldExtension(_EnumComponentExtension):
    target_class = ShipmentStatusField
    component_name = "ShipmentStatus"
    choices = ShipmentStatus
