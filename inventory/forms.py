from django import forms


class StockAdjustmentForm(forms.Form):
    """Staff correction of on-hand stock: a signed number of units and why."""

    delta = forms.IntegerField(
        label="Change in units",
        help_text="Positive to add units (found, recount up), negative to remove (broken, lost).",
    )
    reason = forms.CharField(max_length=500, help_text="Recorded on the stock movement.")
    # The admin's selection (`helpers.ACTION_CHECKBOX_NAME`), carried through this page.
    _selected_action = forms.CharField(widget=forms.MultipleHiddenInput)

    def clean_delta(self) -> int:
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError("Enter a change other than 0.")
        return delta

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the stock changes.")
        return reason
