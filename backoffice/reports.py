"""The owner's reports: sales per day/week/month over a range, stock valuation and the stock
ledger, on screen and as CSV. Reads only, through the owning apps' selectors."""

import csv
from datetime import date, datetime, time, timedelta

from django import forms
from django.http import HttpResponse
from django.utils import timezone

from carts.pricing import money
from inventory import selectors as inventory_selectors
from orders import selectors as orders_selectors

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366


class DateRangeForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    end = forms.DateField(
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text="Included in the report.",
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError("The end is before the start.")
            if (end - start).days > MAX_DAYS:
                raise forms.ValidationError("Choose at most three years.")
        return cleaned

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) as aware datetimes: the end day is included, in the shop's time zone."""
        start = timezone.make_aware(datetime.combine(self.cleaned_data["start"], time.min))
        end = timezone.make_aware(datetime.combine(self.cleaned_data["end"], time.min))
        return start, end + timedelta(days=1)


class SalesReportForm(DateRangeForm):
    period = forms.ChoiceField(
        choices=[("day", "Day"), ("week", "Week"), ("month", "Month")], initial="day"
    )


def default_range(today: date | None = None) -> dict:
    today = today or timezone.localdate()
    return {"start": today - timedelta(days=DEFAULT_DAYS - 1), "end": today, "period": "day"}


def bound_form(form_class, request):
    """The form of the request's query, or of the default range when it has none."""
    data = request.GET if "start" in request.GET else default_range()
    return form_class(data)


def _csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def sales_rows(form: SalesReportForm):
    start, end = form.bounds()
    return orders_selectors.sales_report(start=start, end=end, period=form.cleaned_data["period"])


def sales_csv(form: SalesReportForm) -> HttpResponse:
    data = form.cleaned_data
    return _csv_response(
        f"sales-{data['start']}-{data['end']}-{data['period']}.csv",
        ["period_start", "orders", "revenue", "tax", "refunds", "net"],
        (
            [
                timezone.localtime(row.period).date().isoformat(),
                row.orders,
                row.revenue,
                row.tax,
                row.refunds,
                row.net,
            ]
            for row in sales_rows(form)
        ),
    )


def stock_valuation_csv() -> HttpResponse:
    return _csv_response(
        f"stock-valuation-{timezone.localdate()}.csv",
        ["sku", "product", "on_hand", "unit_price", "currency", "value"],
        (
            [
                item.product.sku,
                item.product.name,
                item.on_hand,
                item.product.price,
                item.product.currency,
                money(item.value),
            ]
            for item in inventory_selectors.stock_valuation().iterator(chunk_size=2000)
        ),
    )


def stock_movements_csv(form: DateRangeForm) -> HttpResponse:
    start, end = form.bounds()
    return _csv_response(
        f"stock-movements-{form.cleaned_data['start']}-{form.cleaned_data['end']}.csv",
        ["at", "sku", "reason", "delta", "quantity", "on_hand_after", "reference", "user", "note"],
        (
            [
                timezone.localtime(movement.created_at).isoformat(),
                movement.stock_item.product.sku,
                movement.reason,
                movement.delta,
                movement.quantity,
                movement.on_hand_after,
                movement.reference,
                movement.user.email if movement.user else "",
                movement.note,
            ]
            for movement in inventory_selectors.stock_movements_between(
                start=start, end=end
            ).iterator(chunk_size=2000)
        ),
    )
