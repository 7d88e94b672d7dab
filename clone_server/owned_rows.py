"""The rows that belong to a user, found through the app registry, and how to delete rows fast.

Nothing here names an app: a user-owned table is any installed model with a foreign key to the
user model, and deleting follows each link's ``on_delete`` as Django's collector would, so a
table added later is covered without a change here.
"""

from collections import Counter
from typing import cast

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import models
from django.db.models.deletion import get_candidate_relations_to_delete
from django.db.models.fields.reverse_related import ForeignObjectRel

# Rows deleted per batch when a table has delete signals (so rows must be loaded).
BATCH_SIZE = 2000

_SET_BASED = (models.CASCADE, models.SET_NULL, models.DO_NOTHING)


def user_fields(model: type[models.Model]) -> list[models.Field]:
    """The fields of ``model`` that link to the user model."""
    user_model = get_user_model()
    return [
        field
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is user_model
    ]


def user_owned_models() -> list[type[models.Model]]:
    """Every installed model (auto-created M2M tables included) with a foreign key or one-to-one
    link to the user model, in app registry order. The user model itself is not included."""
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model is not get_user_model() and user_fields(model)
    ]


def user_rows(*, user: User, model: type[models.Model]) -> models.QuerySet:
    """The rows of ``model`` that belong to ``user`` (through any user link it has)."""
    condition = models.Q()
    for field in user_fields(model):
        condition |= models.Q(**{field.name: user})
    return model._default_manager.filter(condition)


def _has_signals(model: type[models.Model]) -> bool:
    return any(
        signal.has_listeners(model)
        for signal in (models.signals.pre_delete, models.signals.post_delete)
    )


def _relations_to_delete(model: type[models.Model]) -> list[ForeignObjectRel]:
    """The links from other tables to ``model`` whose ``on_delete`` a delete of its rows runs."""
    # Django yields the reverse relations; django-stubs declares them as fields.
    return cast(list[ForeignObjectRel], list(get_candidate_relations_to_delete(model._meta)))


def set_based(model: type[models.Model], seen: frozenset = frozenset()) -> bool:
    """Whether rows of ``model`` and everything they cascade to can go in plain statements:
    no delete signals and only CASCADE, SET_NULL or DO_NOTHING links (Clone's tables today)."""
    if _has_signals(model):
        return False
    if model in seen:
        return False  # a cycle of cascades: the collector knows how to order those
    for relation in _relations_to_delete(model):
        on_delete = relation.field.remote_field.on_delete
        if on_delete not in _SET_BASED:
            return False
        # The table holding the link (a reverse relation's related model).
        if on_delete is models.CASCADE and not set_based(relation.field.model, seen | {model}):
            return False
    return True


def _delete_set(queryset: models.QuerySet, counts: Counter) -> None:
    """Delete ``queryset`` as Django's collector would (cascades first, SET_NULL links
    cleared) but with one statement per table and link, whatever the number of rows."""
    for relation in _relations_to_delete(queryset.model):
        link = relation.field
        linked = link.model._base_manager.filter(
            **{f"{link.attname}__in": queryset.values(link.target_field.attname)}
        )
        if link.remote_field.on_delete is models.CASCADE:
            _delete_set(linked, counts)
        elif link.remote_field.on_delete is models.SET_NULL:
            linked.update(**{link.name: None})
    # The rows' dependents are gone: a plain DELETE is what the collector would end with.
    counts[queryset.model._meta.label] += queryset._raw_delete(queryset.db)


def _delete_batched(queryset: models.QuerySet, counts: Counter) -> None:
    """Django's collector (signals sent, every on_delete honoured), ``BATCH_SIZE`` rows at a
    time so memory stays bounded."""
    model = queryset.model
    while ids := list(queryset.order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE]):
        _, per_model = model._default_manager.filter(pk__in=ids).delete()
        counts.update(per_model)


def rows_delete(queryset: models.QuerySet) -> Counter:
    """Delete every row of ``queryset`` with Django's delete semantics. Returns the rows
    deleted per model label, cascades included. Set-based (a few statements per table, no row
    loaded) when the tables allow it, else in bounded batches through the collector."""
    counts: Counter = Counter()
    if set_based(queryset.model):
        _delete_set(queryset, counts)
    else:
        _delete_batched(queryset, counts)
    return counts


def delete_order(owned: list[type[models.Model]]) -> list[type[models.Model]]:
    """``owned`` with the tables that point at others first, so the cascades of the later ones
    find nothing left to do (registry order among equals). Any order is correct; this one is
    the cheapest."""
    pending = list(owned)
    ordered: list[type[models.Model]] = []
    while pending:
        # A table no pending table points at can go now; a cycle takes its first table.
        pointed_at = {
            field.related_model
            for model in pending
            for field in model._meta.concrete_fields
            if field.is_relation and field.related_model is not model
        }
        free = [m for m in pending if m not in pointed_at] or pending[:1]
        ordered.extend(free)
        pending = [m for m in pending if m not in free]
    return ordered
