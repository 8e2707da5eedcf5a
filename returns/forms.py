"""The return request form: a quantity and a reason per order line, and a note.

Which quantities may still be returned, that each line needs a reason, the window and the order's
status are rules of `returns.services.return_request_create`; the form only collects the request
and shows the service's verdict."""

from django import forms

from returns.enums import ReturnReason
from returns.services import ReturnLineRequest


class ReturnRequestForm(forms.Form):
    note = forms.CharField(
        label="Anything we should know?",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_lines = list(order.lines.all())
        for line in self.order_lines:
            self.fields[f"quantity_{line.pk}"] = forms.IntegerField(
                label=f"How many {line.name} to return",
                min_value=0,
                max_value=line.quantity,
                initial=0,
            )
            self.fields[f"reason_{line.pk}"] = forms.ChoiceField(
                label=f"Why are you returning {line.name}?",
                choices=[("", "Choose a reason"), *ReturnReason.choices],
                required=False,
            )

    def line_fields(self) -> list[tuple]:
        """(order line, quantity field, reason field) per line, for the template."""
        return [
            (line, self[f"quantity_{line.pk}"], self[f"reason_{line.pk}"])
            for line in self.order_lines
        ]

    def return_lines(self) -> list[ReturnLineRequest]:
        return [
            ReturnLineRequest(
                sku=line.sku,
                quantity=self.cleaned_data[f"quantity_{line.pk}"],
                reason=self.cleaned_data[f"reason_{line.pk}"],
            )
            for line in self.order_lines
            if self.cleaned_data[f"quantity_{line.pk}"]
        ]
