"""Admin pages scoped by the access module.

Every admin page asks ``apps.access`` what the signed-in user may see and change; Django's
per-model auth permissions are not used (our users have none). Objects outside the visible
queryset answer 404, exactly like missing ones, and every foreign-key and many-to-many choice
list is scoped by access too, so a form never offers another tenant's objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from django.contrib import admin
from django.contrib.admin.options import BaseModelAdmin
from django.core.exceptions import ImproperlyConfigured
from django.db.models import ForeignKey, ManyToManyField, Model, QuerySet
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.http import Http404, HttpRequest

from apps.access import Actor

# Django's admin classes are generic only in their stubs (subscripting them fails at run
# time), so these classes are generic themselves and leave Django's bases unsubscripted.
M = TypeVar("M", bound=Model)
P = TypeVar("P", bound=Model)

Choices = Callable[[Actor], QuerySet[Any]]

_actors: WeakKeyDictionary[HttpRequest, Actor] = WeakKeyDictionary()


def actor_for(request: HttpRequest) -> Actor:
    """The request's actor, read once per request (an admin page asks for it many times)."""
    actor = _actors.get(request)
    if actor is None or actor.user_id != request.user.pk:
        actor = Actor.of(request.user)
        _actors[request] = actor
    return actor


def _signed_in_staff(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def _nobody(actor: Actor) -> bool:
    return False


class ScopedChoicesMixin(BaseModelAdmin):
    """Foreign-key and many-to-many choices from access: ``related_choices`` maps each field
    name to a ``visible_*``-style function. A relation left out is a configuration error, so
    no choice list falls back to every row in the table."""

    related_choices: Mapping[str, Choices] = {}

    def _scoped_choices(self, db_field: ForeignKey[Any, Any] | ManyToManyField[Any, Any], request: HttpRequest) -> QuerySet[Any]:
        choices = self.related_choices.get(db_field.name)
        if choices is None:
            raise ImproperlyConfigured(f"{type(self).__name__}.related_choices has no entry for {db_field.name!r}.")
        return choices(actor_for(request))

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField[Any] | None:
        through = db_field.remote_field.through
        assert through is not None  # resolved once the apps are ready
        if not through._meta.auto_created:
            return None  # edited through its own model (an inline), as Django's admin does
        kwargs["queryset"] = self._scoped_choices(db_field, request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ScopedModelAdmin(ScopedChoicesMixin, admin.ModelAdmin, Generic[M]):
    """A model admin whose rows and rights come from access.

    Subclasses set ``visible`` and ``may_change`` (e.g. ``staticmethod(access.visible_stations)``),
    ``may_add`` when people may add, and ``related_choices`` for every relation on the form.
    ``owner_field`` names the foreign key to the owning organisation: its choices come from
    ``owner_choices``, and a tenant with a single choice gets it filled in and fixed.
    ``tenant_readonly_fields`` are read-only on existing objects for everyone but the platform.
    """

    visible: Callable[[Actor], QuerySet[M]]
    may_change: Callable[[Actor, M], bool]
    may_add: Callable[[Actor], bool] = staticmethod(_nobody)
    owner_field: str | None = None
    owner_choices: Callable[[Actor], QuerySet[Any]] | None = None
    tenant_readonly_fields: tuple[str, ...] = ()
    # A page for the platform only (other staff do not see it in the index at all).
    platform_only = False

    def _allowed(self, request: HttpRequest) -> Actor | None:
        """The actor, if they may use this page at all."""
        if not _signed_in_staff(request):
            return None
        actor = actor_for(request)
        if not actor.signed_in or (self.platform_only and not actor.platform_admin):
            return None
        return actor

    def get_queryset(self, request: HttpRequest) -> QuerySet[M]:
        actor = self._allowed(request)
        if actor is None:
            return self.model._default_manager.none()
        queryset = self.visible(actor)
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> M | None:
        # Django redirects to the index for a missing object; we answer 404, for hidden ones alike.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _signed_in_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        actor = self._allowed(request)
        if actor is None:
            return False
        return obj is None or self.visible(actor).filter(pk=obj.pk).exists()

    def has_change_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        # Without an object: whether the page may offer changes at all; each object decides.
        actor = self._allowed(request)
        if actor is None:
            return False
        return obj is None or self.may_change(actor, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        actor = self._allowed(request)
        return actor is not None and self.may_add(actor)

    def has_delete_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        # Conservative: only the platform deletes, and only what it may change.
        actor = self._allowed(request)
        if actor is None or not actor.platform_admin:
            return False
        return obj is None or self.may_change(actor, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: M | None = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and not actor_for(request).platform_admin:
            readonly += tuple(name for name in self.tenant_readonly_fields if name not in readonly)
        return readonly

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        if db_field.name == self.owner_field and self.owner_choices is not None:
            actor = actor_for(request)
            owners = self.owner_choices(actor)
            kwargs["queryset"] = owners
            if not actor.platform_admin:
                only = list(owners[:2])
                if len(only) == 1:
                    # A disabled field takes its initial value, whatever is posted.
                    kwargs.update(initial=only[0].pk, disabled=True)
        else:
            kwargs["queryset"] = self._scoped_choices(db_field, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedInline(ScopedChoicesMixin, admin.TabularInline, Generic[M, P]):
    """Rows from ``visible``; adding, changing and deleting rows is changing the parent
    (``may_change_parent``). On a parent's add page, the parent's add permission has decided."""

    visible: Callable[[Actor], QuerySet[M]]
    may_change_parent: Callable[[Actor, P], bool]
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[M]:
        if not _signed_in_staff(request):
            return self.model._default_manager.none()
        return self.visible(actor_for(request))

    def _may_change_parent(self, request: HttpRequest, obj: P | None) -> bool:
        if not _signed_in_staff(request):
            return False
        actor = actor_for(request)
        return actor.signed_in and (obj is None or self.may_change_parent(actor, obj))

    def has_view_permission(self, request: HttpRequest, obj: P | None = None) -> bool:
        return _signed_in_staff(request) and actor_for(request).signed_in

    def has_add_permission(self, request: HttpRequest, obj: P | None = None) -> bool:
        return self._may_change_parent(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: P | None = None) -> bool:
        return self._may_change_parent(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: P | None = None) -> bool:
        return self._may_change_parent(request, obj)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        # The key to the parent is fixed by the formset; every other relation is scoped.
        if db_field.remote_field.model is not self.parent_model:
            kwargs["queryset"] = self._scoped_choices(db_field, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
