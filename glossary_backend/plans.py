"""The optimizer's plans of a trusted document, worked out once per field and reused.

strawberry-django's optimizer walks a field's selection on every request and builds
what the queryset needs from it: `only()` columns, `select_related`, and `Prefetch`
objects whose querysets come from each related type's `get_queryset` (the visibility
rules). For a registered document read by the public that work gives the same answer
every time: the selection is fixed, and so is the audience. W1's term page spent a fifth
of its time there (1.4 of 7 ms: the walk, and building the visibility querysets of its
chapter and related terms).

`PlannedOptimizer` keeps that answer, the optimizer's `OptimizerStore`, on the document
(`PreparedDocument.plans`), keyed by the field's nodes, the queryset's model and the
values of the variables its selection uses (a nested connection's `first`, an
`@include`). Each request applies a copy whose querysets are clones: Django's prefetching
adds hints to the querysets it is given (the instance it prefetches for, which the
replica router reads), and the optimizer adjusts `only()` of the ones it merges.

Plans are kept only for a public caller (no session, token or preview: the visibility
querysets are the same for all of them) running a query from a trusted document. Staff,
previews, tokens and documents sent as text are planned per request, as before.
The library internals this relies on are pinned in tests/test_library_contract.py.
"""

import copy
import dataclasses
import json
import threading
from collections import OrderedDict

from django.db.models import Prefetch, QuerySet
from django.db.models.manager import BaseManager
from graphql import FragmentSpreadNode, GraphQLResolveInfo, OperationType, VariableNode, visit
from graphql.language import Visitor
from graphql.type.definition import get_named_type
from strawberry.types.info import Info
from strawberry_django.optimizer import (
    DjangoOptimizerExtension,
    OptimizerConfig,
    OptimizerStore,
    _get_gql_definition,
    _get_model_hints,
    _get_selections,
    is_optimized,
    optimize,
    optimizer,
)
from strawberry_django.queryset import get_queryset_config
from strawberry_django.resolvers import django_fetch
from strawberry_django.utils.inspect import get_possible_concrete_types, is_inheritance_qs

from glossary_backend import caching

# Plans kept per field of a document: one per set of values of the variables its
# selection uses, the least recently used one making way for a new one.
MAX_PLANS_PER_FIELD = 64


class PlannedOptimizer(DjangoOptimizerExtension):
    """strawberry-django's optimizer, reusing the plans of trusted documents."""

    def resolve(self, next_, root, info: GraphQLResolveInfo, *args, **kwargs):
        # The library's `resolve`, with `planned_optimize` for `optimize`.
        result = next_(root, info, *args, **kwargs)
        if not self.enabled.get():
            return result
        if isinstance(result, BaseManager):
            result = result.all()
        if isinstance(result, QuerySet) and result._result_cache is None:
            config = self._config(
                info, enable_nested_relations_prefetch=self.enable_nested_relations_prefetch
            )
            result = django_fetch(planned_optimize(result, info, config=config))
        return result

    def optimize(self, qs, info, *, store: OptimizerStore | None = None):
        if not self.enabled.get():
            return qs
        config = self._config(info)
        if store is not None:
            return optimize(qs, info, config=config, store=store)
        return planned_optimize(qs, info, config=config)

    def _config(self, info, **extra) -> OptimizerConfig:
        return OptimizerConfig(
            enable_only=self.enable_only and info.operation.operation == OperationType.QUERY,
            enable_select_related=self.enable_select_related,
            enable_prefetch_related=self.enable_prefetch_related,
            enable_annotate=self.enable_annotate_optimization,
            prefetch_custom_queryset=self.prefetch_custom_queryset,
            **extra,
        )


def planned_optimize(qs, info, *, config: OptimizerConfig):
    """`strawberry_django.optimizer.optimize(qs, info, config=config)`, from the kept plan
    when the document has one for this field, keeping it when it is worked out here."""
    raw_info = info._raw_info if isinstance(info, Info) else info
    plans = _plans_of(raw_info)
    if isinstance(qs, BaseManager):
        qs = qs.all()
    if (
        plans is None
        or not isinstance(qs, QuerySet)
        or is_optimized(qs)
        or qs._result_cache is not None
        or is_inheritance_qs(qs)
    ):
        return optimize(qs, raw_info, config=config)
    nodes = tuple(id(node) for node in raw_info.field_nodes)
    field_plans = plans.get(nodes)
    if field_plans is None:
        field_plans = plans[nodes] = _FieldPlans(_selection_variables(raw_info))
    key = field_plans.key(raw_info, qs.model, config)
    store = field_plans.get(key)
    if store is None:
        store = _plan(qs.model, raw_info, config)
        field_plans.keep(key, store)
    if store:
        qs = _fresh(store).apply(qs, info=raw_info, config=config)
        get_queryset_config(qs).optimized = True
    return qs


def _plans_of(info: GraphQLResolveInfo) -> dict | None:
    """The plan cache of the request's trusted document when the caller is public and
    the operation a query; None when plans are not to be kept."""
    if info.operation.operation != OperationType.QUERY:
        return None
    request = getattr(info.context, "request", None)
    document = getattr(request, "trusted_document", None)
    if document is None or caching.audience(request) != caching.PUBLIC:
        return None
    return document.plans


def _plan(model, info: GraphQLResolveInfo, config: OptimizerConfig) -> OptimizerStore:
    """What `optimize` would apply to a queryset of `model` for this field."""
    schema = info.schema._strawberry_schema
    strawberry_type = schema.get_type_by_name(get_named_type(info.return_type).name)
    store = OptimizerStore()
    if strawberry_type is None:
        return store
    for definition in get_possible_concrete_types(model, schema, strawberry_type):
        hints = _get_model_hints(
            model,
            schema,
            definition,
            parent_type=_get_gql_definition(schema, definition),
            info=info,
            config=config,
        )
        if hints is not None:
            store |= hints
    return store


@dataclasses.dataclass
class _FieldPlans:
    """The plans of one field of a document: per model, configuration and the values of
    the variables its selection uses; the most recently used ones, so that callers
    sending ever new values cannot crowd out the plans a frontend keeps using."""

    variables: tuple[str, ...]
    stores: OrderedDict = dataclasses.field(default_factory=OrderedDict)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def get(self, key) -> OptimizerStore | None:
        with self.lock:
            store = self.stores.get(key)
            if store is not None:
                self.stores.move_to_end(key)
            return store

    def keep(self, key, store: OptimizerStore) -> None:
        with self.lock:
            self.stores[key] = store
            while len(self.stores) > MAX_PLANS_PER_FIELD:
                self.stores.popitem(last=False)

    def key(self, info: GraphQLResolveInfo, model, config: OptimizerConfig) -> tuple:
        values = tuple(
            json.dumps(info.variable_values.get(name), sort_keys=True, default=repr)
            for name in self.variables
        )
        return model, dataclasses.astuple(config), values


class _VariableNames(Visitor):
    def __init__(self):
        super().__init__()
        self.variables: set[str] = set()
        self.fragments: set[str] = set()

    def enter_variable(self, node: VariableNode, *_):
        self.variables.add(node.name.value)

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_):
        self.fragments.add(node.name.value)


def _selection_variables(info: GraphQLResolveInfo) -> tuple[str, ...]:
    """The variables used inside the field's selection (its fragments' included), sorted:
    the plan depends on them (nested arguments, @include/@skip), not on the field's own
    arguments, which its resolver applies."""
    names = _VariableNames()
    pending = [node.selection_set for node in info.field_nodes if node.selection_set]
    visited: set[str] = set()
    while pending:
        visit(pending.pop(), names)
        for fragment in names.fragments - visited:
            visited.add(fragment)
            if fragment in info.fragments:
                pending.append(info.fragments[fragment].selection_set)
    return tuple(sorted(names.variables))


def _fresh(store: OptimizerStore) -> OptimizerStore:
    """A copy of a kept plan for one request: its prefetch querysets cloned, nested
    prefetches included, so that nothing of one request stays on the plan."""
    return OptimizerStore(
        only=list(store.only),
        select_related=list(store.select_related),
        prefetch_related=[_fresh_prefetch(lookup) for lookup in store.prefetch_related],
        annotate=dict(store.annotate),
    )


def _fresh_prefetch(lookup):
    if not isinstance(lookup, Prefetch) or lookup.queryset is None:
        return lookup
    fresh = copy.copy(lookup)
    fresh.queryset = lookup.queryset.all()
    fresh.queryset._prefetch_related_lookups = tuple(
        _fresh_prefetch(nested) for nested in lookup.queryset._prefetch_related_lookups
    )
    return fresh


def selection_info(info, *path: str) -> GraphQLResolveInfo | None:
    """The resolve info of the field below `info`'s that `path` names (field names, through
    lists and non-nulls), with its nodes under every alias, as the optimizer reads a
    field; None when the selection does not ask for it. For a resolver that fetches a
    nested field's objects itself (a search's terms), so that they load in one optimized
    query and the nested field reads them as plain values."""
    info = info._raw_info if isinstance(info, Info) else info
    for name in path:
        parent = get_named_type(info.return_type)
        nodes = [
            node
            for nodes in _get_selections(info, parent).values()
            for node in nodes
            if node.name.value == name
        ]
        if not nodes:
            return None
        info = info._replace(
            field_name=name,
            field_nodes=nodes,
            return_type=parent.fields[name].type,
            parent_type=parent,
            path=info.path.add_key(name, parent.name),
        )
    return info


def optimized(queryset, info):
    """`queryset` optimized for the field of `info` by the schema's optimizer extension,
    with the document's plan when it keeps one."""
    extension = optimizer.get()
    if extension is None:
        return optimize(queryset, info)
    return extension.optimize(queryset, info)
