"""The admin's supplier file import (a mixin of the stock item admin): upload, preview, apply.

The uploaded file is kept in the session between the preview and the apply, with its digest in
the apply form, so what is applied is exactly what was previewed, and a second submit of the
same preview applies nothing twice (the session entry is gone after the first).
"""

import base64
import hashlib

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from inventory.errors import SupplierFileInvalid
from inventory.forms import SupplierFileForm
from inventory.services.supplier_import import (
    supplier_file_read,
    supplier_import_apply,
    supplier_import_plan,
)

SESSION_KEY = "inventory_supplier_file"
PREVIEW_ROWS = 200
MAX_FILE_BYTES = 5 * 1024 * 1024


def may_import_supplier_file(user) -> bool:
    """A supplier file changes prices and books stock in: both permissions are needed."""
    return user.has_perm("inventory.change_stockitem") and user.has_perm("catalogue.change_product")


class SupplierImportAdminMixin:
    def get_urls(self):
        return [
            path(
                "supplier-import/",
                self.admin_site.admin_view(self.supplier_import_view),
                name="inventory_stockitem_supplier_import",
            ),
            *super().get_urls(),
        ]

    def has_supplier_import_permission(self, request) -> bool:
        return may_import_supplier_file(request.user)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_import_supplier_file": self.has_supplier_import_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def supplier_import_view(self, request):
        if not self.has_supplier_import_permission(request):
            raise PermissionDenied
        if request.method == "POST" and "apply" in request.POST:
            return self._supplier_import_apply(request)
        form = SupplierFileForm(request.POST or None, request.FILES or None)
        context = {"form": form}
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_FILE_BYTES:
                form.add_error("file", "The file is larger than 5 MB; split it.")
            else:
                content = upload.read()
                try:
                    rows = supplier_file_read(name=upload.name, content=content)
                except SupplierFileInvalid as error:
                    form.add_error("file", f"{error.detail} {'; '.join(error.extra['errors'])}")
                else:
                    digest = hashlib.sha256(content).hexdigest()
                    request.session[SESSION_KEY] = {
                        "name": upload.name,
                        "content": base64.b64encode(content).decode(),
                        "digest": digest,
                        "reference": form.cleaned_data["reference"],
                    }
                    plan = supplier_import_plan(rows=rows)
                    context.update(
                        plan=plan,
                        preview=plan.changes[:PREVIEW_ROWS],
                        digest=digest,
                        reference=form.cleaned_data["reference"],
                        file_name=upload.name,
                    )
        return self._supplier_import_page(request, context)

    def _supplier_import_apply(self, request):
        stored = request.session.get(SESSION_KEY)
        if not stored or stored["digest"] != request.POST.get("digest"):
            messages.error(
                request, "That preview is gone (applied already?): upload the file again."
            )
            return redirect("admin:inventory_stockitem_supplier_import")
        del request.session[SESSION_KEY]
        content = base64.b64decode(stored["content"])
        try:
            report = supplier_import_apply(
                rows=supplier_file_read(name=stored["name"], content=content),
                reference=stored["reference"],
                user=request.user,
            )
        except SupplierFileInvalid as error:
            messages.error(request, f"{error.detail} {'; '.join(error.extra['errors'][:10])}")
            return redirect("admin:inventory_stockitem_supplier_import")
        messages.success(
            request,
            f"{stored['name']} applied: {report.prices_changed} prices changed, "
            f"{report.units_received} units received for {report.products_received} products.",
        )
        return redirect("admin:inventory_stockitem_changelist")

    def _supplier_import_page(self, request, context):
        return TemplateResponse(
            request,
            "admin/inventory/stockitem/supplier_import.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Import a supplier file",
                "preview_rows": PREVIEW_ROWS,
                **context,
            },
        )
