import re

from django import forms

from catalogue import selectors as catalogue_selectors


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


class StockLinesForm(forms.Form):
    """Products and numbers typed (or scanned) one per line: `SKU quantity`, plus why.

    Each line that cannot be used is named in the error, so nothing is booked until all are right.
    """

    LINE = re.compile(r"^\s*(?P<sku>[^\s,;]+)[\s,;]+(?P<quantity>-?\d+)\s*$")

    lines = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "cols": 40, "spellcheck": "false"}),
        help_text="One product per line: its SKU, a space, the number of units.",
    )
    reason = forms.CharField(max_length=500, help_text="Recorded on every stock movement.")
    minimum = 1

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say what this is (delivery note, count, …).")
        return reason

    def clean_lines(self) -> list[tuple]:
        wanted, errors = [], []
        for number, text in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            if not text.strip():
                continue
            match = self.LINE.match(text)
            if match is None:
                errors.append(f"Line {number}: write the SKU, then the number of units.")
                continue
            quantity = int(match["quantity"])
            if quantity < self.minimum:
                errors.append(f"Line {number}: the number must be at least {self.minimum}.")
                continue
            wanted.append((number, match["sku"], quantity))
        products = catalogue_selectors.products_by_sku(skus={sku for _, sku, _ in wanted})
        errors += [
            f"Line {number}: no product has the SKU {sku}."
            for number, sku, _ in wanted
            if sku not in products
        ]
        if errors:
            raise forms.ValidationError(errors)
        if not wanted:
            raise forms.ValidationError("Enter at least one product.")
        return [(products[sku], quantity) for _, sku, quantity in wanted]


class DeliveryForm(StockLinesForm):
    """A supplier's delivery: units received per product."""


class StockCountForm(StockLinesForm):
    """A stock count: what is on the shelf per product (0 allowed), replacing on hand."""

    minimum = 0

    def clean_lines(self) -> list[tuple]:
        levels = super().clean_lines()
        counted = [product.sku for product, _ in levels]
        repeated = sorted({sku for sku in counted if counted.count(sku) > 1})
        if repeated:
            raise forms.ValidationError(f"Counted twice: {', '.join(repeated)}. Add them up first.")
        return levels


class SupplierFileForm(forms.Form):
    """A supplier's price list or delivery note to preview (admin: Import a supplier file)."""

    file = forms.FileField(
        help_text="CSV (comma or semicolon separated, UTF-8) or XLSX with a header row: sku, and "
        "price and/or quantity_received. Other columns are ignored."
    )
    reference = forms.CharField(
        max_length=100,
        help_text="The delivery note or price list, e.g. 'Fresh Farm 2026-12-07'. Recorded on "
        "every stock movement.",
    )
