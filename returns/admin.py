"""The returns desk: staff in the `Returns staff` group approve, reject, receive and refund here.

Every action calls the same services as the staff API; nothing changes a return's fields directly.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from returns import services
from returns.enums import ReturnLineCondition, ReturnStatus
from returns.models import ReturnLine, ReturnRequest
from yourlocalshop.admin import ReadOnlyAdminMixin
from yourlocalshop.errors import DomainError


class ReturnLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ReturnLine
    extra = 0
    fields = ["sku", "product_name", "quantity", "reason", "condition", "refund_amount"]
    readonly_fields = fields
    verbose_name_plural = "lines (the customer's reason beside each)"

    @admin.display(description="Product")
    def product_name(self, line: ReturnLine) -> str:
        return line.order_line.name


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="The customer reads this in the rejection email.",
    )


class ReceiveForm(forms.Form):
    """One condition per line of the return, chosen by the clerk: there is no default, so nothing
    the customer reported damaged goes back on the shelf unless someone decided it is sellable."""

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"condition_{line.pk}"] = forms.ChoiceField(
                label=f"{line.quantity} x {line.sku} {line.order_line.name}",
                choices=[
                    (ReturnLineCondition.RESELLABLE, "Resellable: back on the shelf"),
                    (ReturnLineCondition.DAMAGED, "Damaged: write off"),
                ],
                widget=forms.RadioSelect,
                error_messages={"required": "Choose the condition of this line."},
            )

    def rows(self):
        """Each line with its condition field, for the receive page's table."""
        return [(line, self[f"condition_{line.pk}"]) for line in self.lines]

    def conditions(self) -> dict[int, str]:
        return {line.pk: self.cleaned_data[f"condition_{line.pk}"] for line in self.lines}


# What each button on a return's page does, as its confirmation page says it.
DECISIONS = {
    "approve": (
        "Approve",
        "The customer is emailed that the return is approved and can send the goods back.",
    ),
    "cancel": (
        "Cancel",
        "The goods never came back: the return is cancelled and its units can be returned again. "
        "Nothing is refunded.",
    ),
    "refund": (
        "Retry the refund",
        "The refund of {amount} goes to the customer's payment again, once; a credit note is "
        "issued. Stock is not changed again.",
    ),
}


@admin.register(ReturnRequest)
class ReturnRequestAdmin(admin.ModelAdmin):
    list_display = [
        "rma_number",
        "order_number",
        "customer_email",
        "status",
        "refund_amount",
        "refund_problem",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["rma_number", "order__number", "order__email"]
    ordering = ["created_at"]
    list_select_related = ["order"]
    inlines = [ReturnLineInline]
    actions = ["approve_returns", "reject_returns", "cancel_returns", "retry_refunds"]
    change_form_template = "admin/returns/returnrequest/change_form.html"
    readonly_fields = [
        "rma_number",
        "order_number",
        "customer_email",
        "status",
        "note",
        "rejection_reason",
        "refund_amount",
        "shipping_refund",
        "refund_failure",
        "refund_attempts",
        "refund_attempted_at",
        "provider_refund",
        "credit_note",
        "decided_by",
        "received_by",
        "window_starts_at",
        "created_at",
        "approved_at",
        "rejected_at",
        "cancelled_at",
        "received_at",
        "refunded_at",
    ]
    fieldsets = [
        (None, {"fields": ["rma_number", "order_number", "customer_email", "status", "note"]}),
        (
            "Refund",
            {
                "fields": [
                    "refund_amount",
                    "shipping_refund",
                    "refund_failure",
                    "refund_attempts",
                    "refund_attempted_at",
                    "provider_refund",
                    "credit_note",
                ]
            },
        ),
        (
            "History",
            {
                "fields": [
                    "rejection_reason",
                    "decided_by",
                    "received_by",
                    "window_starts_at",
                    "created_at",
                    "approved_at",
                    "rejected_at",
                    "cancelled_at",
                    "received_at",
                    "refunded_at",
                ]
            },
        ),
    ]

    # Returns are opened by customers and moved by the actions below, never edited by hand.
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_process_permission(self, request) -> bool:
        return request.user.has_perm("returns.process_returnrequest")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("order", "refund", "credit_note", "decided_by", "received_by")
        )

    @admin.display(description="Order", ordering="order__number")
    def order_number(self, return_request: ReturnRequest) -> str:
        return return_request.order.number

    @admin.display(description="Customer", ordering="order__email")
    def customer_email(self, return_request: ReturnRequest) -> str:
        return return_request.order.email

    @admin.display(description="Refund problem")
    def refund_problem(self, return_request: ReturnRequest) -> str:
        if not return_request.refund_failure:
            return ""
        return format_html(
            '<span style="color:#ba2121">{} (attempts: {})</span>',
            return_request.refund_failure,
            return_request.refund_attempts,
        )

    @admin.display(description="Provider refund")
    def provider_refund(self, return_request: ReturnRequest) -> str:
        return return_request.refund.provider_refund_id if return_request.refund else ""

    # --- Actions (each return on its own, so one refused return does not stop the others) ---

    def _apply(self, request, queryset, move, done: str) -> None:
        moved = 0
        for return_request in queryset.order_by("created_at"):
            try:
                move(return_request)
            except DomainError as error:
                self.message_user(
                    request, f"{return_request.rma_number}: {error.detail}", messages.ERROR
                )
            else:
                moved += 1
        if moved:
            self.message_user(request, f"{moved} return(s) {done}.", messages.SUCCESS)

    @admin.action(description="Approve selected returns", permissions=["process"])
    def approve_returns(self, request, queryset):
        self._apply(
            request,
            queryset,
            lambda return_request: services.return_approve(
                return_request=return_request, user=request.user
            ),
            "approved",
        )

    @admin.action(description="Cancel selected approved returns", permissions=["process"])
    def cancel_returns(self, request, queryset):
        self._apply(
            request,
            queryset,
            lambda return_request: services.return_cancel(
                return_request=return_request, user=request.user
            ),
            "cancelled",
        )

    @admin.action(
        description="Retry the refund of selected received returns", permissions=["process"]
    )
    def retry_refunds(self, request, queryset):
        self._apply(
            request,
            queryset,
            lambda return_request: services.return_refund_retry(return_request=return_request),
            "refunded",
        )

    @admin.action(description="Reject selected returns (with a reason)", permissions=["process"])
    def reject_returns(self, request, queryset):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._apply(
                request,
                queryset,
                lambda return_request: services.return_reject(
                    return_request=return_request,
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                ),
                "rejected",
            )
            return None
        return TemplateResponse(
            request,
            "admin/returns/returnrequest/reject.html",
            {
                **self.admin_site.each_context(request),
                "title": "Reject returns",
                "opts": self.model._meta,
                "returns": queryset,
                "form": form,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    # --- Receiving one return, line by line ---------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<uuid:return_id>/receive/",
                self.admin_site.admin_view(self.receive_view),
                name="returns_returnrequest_receive",
            ),
            path(
                "<uuid:return_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="returns_returnrequest_reject",
            ),
            path(
                "<uuid:return_id>/decide/<str:decision>/",
                self.admin_site.admin_view(self.decision_view),
                name="returns_returnrequest_decide",
            ),
            *super().get_urls(),
        ]

    def _desk_page(self, request, return_request, template: str, **context):
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": return_request,
                "change_url": reverse(
                    "admin:returns_returnrequest_change", args=[return_request.pk]
                ),
                **context,
            },
        )

    def _processable(self, request, return_id) -> ReturnRequest:
        if not self.has_process_permission(request):
            raise PermissionDenied
        return get_object_or_404(self.get_queryset(request), pk=return_id)

    def decision_view(self, request, return_id, decision: str):
        return_request = self._processable(request, return_id)
        if decision not in DECISIONS:
            raise Http404("No such decision.")
        button, explanation = DECISIONS[decision]
        change_url = reverse("admin:returns_returnrequest_change", args=[return_request.pk])
        if request.method == "POST":
            perform = {
                "approve": lambda: services.return_approve(
                    return_request=return_request, user=request.user
                ),
                "cancel": lambda: services.return_cancel(
                    return_request=return_request, user=request.user
                ),
                "refund": lambda: services.return_refund_retry(return_request=return_request),
            }[decision]
            try:
                done = perform()
            except DomainError as error:
                self.message_user(request, error.detail, messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{done.rma_number} is {done.get_status_display().lower()}.",
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(change_url)
        amount = return_request.refund_amount
        return self._desk_page(
            request,
            return_request,
            "admin/returns/returnrequest/confirm.html",
            title=f"{button} {return_request.rma_number}?",
            button=button,
            explanation=explanation.format(
                amount=f"{amount} {return_request.order.currency}" if amount is not None else ""
            ),
        )

    def reject_view(self, request, return_id):
        return_request = self._processable(request, return_id)
        form = RejectForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.return_reject(
                    return_request=return_request,
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as error:
                self.message_user(request, error.detail, messages.ERROR)
            else:
                self.message_user(
                    request, f"{return_request.rma_number} is rejected.", messages.SUCCESS
                )
            return HttpResponseRedirect(
                reverse("admin:returns_returnrequest_change", args=[return_request.pk])
            )
        return self._desk_page(
            request,
            return_request,
            "admin/returns/returnrequest/reject_one.html",
            title=f"Reject {return_request.rma_number}?",
            form=form,
        )

    def receive_view(self, request, return_id):
        return_request = self._processable(request, return_id)
        change_url = reverse("admin:returns_returnrequest_change", args=[return_request.pk])
        lines = list(return_request.lines.select_related("order_line"))
        form = ReceiveForm(request.POST if request.method == "POST" else None, lines=lines)
        if request.method == "POST" and form.is_valid():
            try:
                received = services.return_receive(
                    return_request=return_request, conditions=form.conditions(), user=request.user
                )
            except DomainError as error:
                self.message_user(request, error.detail, messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{received.rma_number} received and refunded "
                    f"({received.refund_amount} {received.order.currency}).",
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(change_url)
        return self._desk_page(
            request,
            return_request,
            "admin/returns/returnrequest/receive.html",
            title=f"Receive {return_request.rma_number}",
            form=form,
            refund_quote=services.return_refund_quote(return_request=return_request),
        )

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None and self.has_process_permission(request):
            context["desk_buttons"] = self._desk_buttons(obj)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def _desk_buttons(self, return_request: ReturnRequest) -> list[tuple[str, str]]:
        """The moves open to this return: (label, url of its confirmation page)."""

        def url(name: str, *args) -> str:
            return reverse(f"admin:returns_returnrequest_{name}", args=[return_request.pk, *args])

        return {
            ReturnStatus.REQUESTED: [
                ("Approve…", url("decide", "approve")),
                ("Reject…", url("reject")),
            ],
            ReturnStatus.APPROVED: [
                ("Receive goods…", url("receive")),
                ("Cancel…", url("decide", "cancel")),
            ],
            ReturnStatus.RECEIVED: [("Retry the refund…", url("decide", "refund"))],
        }.get(return_request.status, [])
