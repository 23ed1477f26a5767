"""Fast schema cloning for new clinics: replay the template's structure as one batch of DDL.

django-tenants' `clone_schema` (pg-clone-schema, PL/pgSQL) introspects the catalogs object by
object while it copies, and many of its catalog queries filter pg_class/pg_attribute by schema,
which PostgreSQL can only answer by scanning them. The catalogs grow with every clinic (about 200
relations each), so cloning slows down as clinics are added: ~0.8 s with a handful of clinics and
several seconds with hundreds on a 2-core machine.

Here the template is read once per clone with a few set-based catalog queries, and the new schema
is built with one multi-statement batch of plain DDL that PostgreSQL executes through its own
indexed catalog lookups:

* tables: `CREATE TABLE ... (LIKE template.t INCLUDING ALL)` copies columns, defaults, identity
  (with a fresh sequence per table), generated columns, CHECK and NOT NULL constraints, primary
  keys, unique and exclusion constraints and indexes -- from their parsed form, so expressions
  stay exactly as migrated -- storage, compression and comments; the copied indexes (and the
  constraints they back) then get the template's names, learnt once by a trial replay;
* foreign keys are added from their definitions, resolving to the new schema via the search path;
* standalone sequences, identity sequence names and positions, table comments and storage
  options are copied, and the rows of tables that have any (migration bookkeeping) are inserted.

Anything this does not replay (views, functions, triggers, types, policies, rules, grants,
partitioning, inheritance, serial columns, ...) makes `clone_schema_fast` return False before it
has done anything; the caller then uses pg-clone-schema, which handles everything, only slower.
A final comparison of object counts per kind turns any other difference into an error that rolls
the clone back.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from django.db import connection, transaction

# One query; every row names something in the template that the replay does not reproduce.
_UNSUPPORTED_SQL = """
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = %(schema)s)
SELECT 'relation ' || c.relname || ' of kind ' || c.relkind::text FROM pg_class c, ns
 WHERE c.relnamespace = ns.oid AND c.relkind NOT IN ('r', 'i', 'S')
UNION ALL SELECT 'partition or inheritance on ' || c.relname FROM pg_class c, ns
 WHERE c.relnamespace = ns.oid AND (c.relispartition OR EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid))
UNION ALL SELECT 'row security on ' || c.relname FROM pg_class c, ns
 WHERE c.relnamespace = ns.oid AND (c.relrowsecurity OR c.relforcerowsecurity)
UNION ALL SELECT 'grants on ' || c.relname FROM pg_class c, ns WHERE c.relnamespace = ns.oid AND c.relacl IS NOT NULL
UNION ALL SELECT 'grants on the schema' FROM pg_namespace n, ns WHERE n.oid = ns.oid AND n.nspacl IS NOT NULL
UNION ALL SELECT 'owner of ' || c.relname FROM pg_class c, ns
 WHERE c.relnamespace = ns.oid AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
UNION ALL SELECT 'function ' || p.proname FROM pg_proc p, ns WHERE p.pronamespace = ns.oid
UNION ALL SELECT 'type ' || t.typname FROM pg_type t, ns
 WHERE t.typnamespace = ns.oid AND t.typtype <> 'c'
   AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typtype = 'c' AND e.typnamespace = ns.oid)
UNION ALL SELECT 'trigger ' || tg.tgname FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid, ns
 WHERE c.relnamespace = ns.oid AND NOT tg.tgisinternal
UNION ALL SELECT 'rule ' || r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class, ns
 WHERE c.relnamespace = ns.oid
UNION ALL SELECT 'policy ' || pol.polname FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid, ns
 WHERE c.relnamespace = ns.oid
UNION ALL SELECT 'extended statistics ' || s.stxname FROM pg_statistic_ext s, ns WHERE s.stxnamespace = ns.oid
UNION ALL SELECT 'collation ' || co.collname FROM pg_collation co, ns WHERE co.collnamespace = ns.oid
UNION ALL SELECT 'operator ' || o.oprname FROM pg_operator o, ns WHERE o.oprnamespace = ns.oid
UNION ALL SELECT 'operator class ' || oc.opcname FROM pg_opclass oc, ns WHERE oc.opcnamespace = ns.oid
UNION ALL SELECT 'text search configuration ' || ts.cfgname FROM pg_ts_config ts, ns WHERE ts.cfgnamespace = ns.oid
UNION ALL SELECT 'extension ' || x.extname FROM pg_extension x, ns WHERE x.extnamespace = ns.oid
UNION ALL SELECT 'serial default on ' || c.relname || '.' || a.attname FROM pg_attrdef d
   JOIN pg_class c ON c.oid = d.adrelid JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum, ns
 WHERE c.relnamespace = ns.oid AND pg_get_expr(d.adbin, d.adrelid) LIKE '%%nextval(%%'
UNION ALL SELECT 'sequence owned by a column: ' || s.relname FROM pg_class s JOIN pg_depend dep
   ON dep.classid = 'pg_class'::regclass AND dep.objid = s.oid AND dep.deptype = 'a', ns
 WHERE s.relnamespace = ns.oid AND s.relkind = 'S'
"""


class CloneMismatch(RuntimeError):
    """The replayed schema does not have the template's objects; the clone is rolled back."""


# Stands in for the new schema's name in a cached plan; replaced by the real (quoted) name per clone.
_TARGET = "__docos_clone_target__"
_SAFE_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Inventory:
    """What a schema holds, read through indexed catalog lookups on known names (no scans)."""

    relations: frozenset[tuple[str, str]]  # (name, relkind)
    constraints: frozenset[tuple[str, str, str]]  # (table, name, contype)
    columns: int


@dataclass
class ClonePlan:
    template: str
    unsupported: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    relation_names: list[str] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    inventory: Inventory | None = None

    def sql_for(self, target: str) -> str:
        return ";\n".join(self.statements).replace(
            connection.ops.quote_name(_TARGET), connection.ops.quote_name(target)
        )


def unsupported_objects(template: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(_UNSUPPORTED_SQL, {"schema": template})
        return [row[0] for row in cursor.fetchall()]


def inventory(schema: str, relation_names: list[str], tables: list[str]) -> Inventory:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relkind::text FROM pg_class c "
            "WHERE c.relname = ANY(%s) AND c.relnamespace = %s::regnamespace",
            [relation_names, schema],
        )
        relations = frozenset(cursor.fetchall())
        cursor.execute(
            "SELECT c.relname, con.conname, con.contype::text FROM pg_class c "
            "JOIN pg_constraint con ON con.conrelid = c.oid "
            "WHERE c.relname = ANY(%s) AND c.relnamespace = %s::regnamespace AND c.relkind = 'r'",
            [tables, schema],
        )
        constraints = frozenset(cursor.fetchall())
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
            "WHERE c.relname = ANY(%s) AND c.relnamespace = %s::regnamespace AND c.relkind = 'r' "
            "AND a.attnum > 0 AND NOT a.attisdropped",
            [tables, schema],
        )
        columns = int(cursor.fetchone()[0])
    return Inventory(relations=relations, constraints=constraints, columns=columns)


def _search_path_changed() -> None:
    """After our own SET LOCAL search_path: have django-tenants set the connection's search_path
    again before the next query, which PostgreSQL would otherwise run on ours until the transaction
    ends (with TENANT_LIMIT_SET_CALLS it trusts the SET it issued earlier)."""
    connection.search_path_set_schemas = None  # type: ignore[attr-defined]


def _plan(template: str) -> ClonePlan:
    """Read the template (with only it on the search path, so definitions name its objects
    unqualified) and write the DDL that rebuilds it in a schema still to be named."""
    qn = connection.ops.quote_name
    src, dst = qn(template), qn(_TARGET)
    plan = ClonePlan(template=template, unsupported=unsupported_objects(template))
    if plan.unsupported:
        return plan
    out = plan.statements
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL search_path TO {src}")
        cursor.execute(
            "SELECT c.oid, c.relname, obj_description(c.oid, 'pg_class'), array_to_string(c.reloptions, ', ') "
            "FROM pg_class c WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r' ORDER BY c.relname",
            [template],
        )
        tables = cursor.fetchall()
        plan.tables = [name for _, name, _, _ in tables]
        cursor.execute(
            "SELECT s.relname, format_type(q.seqtypid, NULL), q.seqincrement, q.seqmin, q.seqmax, q.seqstart, "
            "q.seqcache, q.seqcycle FROM pg_class s JOIN pg_sequence q ON q.seqrelid = s.oid "
            "WHERE s.relnamespace = %s::regnamespace AND NOT EXISTS (SELECT 1 FROM pg_depend d "
            "WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype IN ('i', 'a')) "
            "ORDER BY s.relname",
            [template],
        )
        standalone_sequences = cursor.fetchall()
        # Identity columns: the template's sequence name for each (the clone's may be auto-named otherwise).
        cursor.execute(
            "SELECT c.relname, a.attname, s.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid "
            "AND d.refobjsubid = a.attnum AND d.deptype = 'i' AND d.classid = 'pg_class'::regclass "
            "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
            "WHERE c.relnamespace = %s::regnamespace AND a.attidentity <> '' ORDER BY 1, 2",
            [template],
        )
        identity_sequences = cursor.fetchall()
        # Foreign keys: a column list and a referenced table, which deparse and re-parse exactly.
        # (Primary keys, unique and exclusion constraints and indexes come with LIKE ... INCLUDING
        # INDEXES, copied from the parsed definitions: re-parsing their text would not always give
        # the same expression, e.g. `x = ANY (ARRAY[...]::text[])` in a partial exclusion constraint.)
        cursor.execute(
            "SELECT c.relname, con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con "
            "JOIN pg_class c ON c.oid = con.conrelid WHERE c.relnamespace = %s::regnamespace "
            "AND con.contype = 'f' ORDER BY c.relname, con.conname",
            [template],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace ORDER BY relname", [template]
        )
        plan.relation_names = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT c.relname, array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r' "
            "AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' GROUP BY c.relname",
            [template],
        )
        insert_columns = {name: list(columns) for name, columns in cursor.fetchall()}
    _search_path_changed()

    out.append(f"CREATE SCHEMA {dst}")
    out.append(f"SET LOCAL search_path TO {dst}, public")
    for name, type_, increment, minimum, maximum, start, cache, cycle in standalone_sequences:
        out.append(
            f"CREATE SEQUENCE {dst}.{qn(name)} AS {type_} INCREMENT BY {int(increment)} MINVALUE {int(minimum)} "
            f"MAXVALUE {int(maximum)} START WITH {int(start)} CACHE {int(cache)} {'CYCLE' if cycle else 'NO CYCLE'}"
        )
    for _, name, comment, options in tables:
        out.append(f"CREATE TABLE {dst}.{qn(name)} (LIKE {src}.{qn(name)} INCLUDING ALL)")
        if comment is not None:
            out.append(f"COMMENT ON TABLE {dst}.{qn(name)} IS {_literal(comment)}")
        if options:
            out.append(f"ALTER TABLE {dst}.{qn(name)} SET ({options})")
    for table, column, sequence in identity_sequences:
        # LIKE names the new identity sequence itself; give it the template's name if that differs.
        out.append(
            "DO $docos$ DECLARE seq_now regclass := pg_get_serial_sequence("
            f"{_literal(f'{dst}.{qn(table)}')}, {_literal(column)})::regclass; BEGIN "
            f"IF (SELECT relname FROM pg_class WHERE oid = seq_now) <> {_literal(sequence)} THEN "
            f"EXECUTE format('ALTER SEQUENCE %s RENAME TO %I', seq_now, {_literal(sequence)}); END IF; END $docos$"
        )
    # Rows (in the template: migration bookkeeping only) go in before constraints and indexes, as in
    # any bulk load; they are read at clone time, so the plan never carries stale data.
    for name in plan.tables:
        columns = ", ".join(qn(column) for column in insert_columns[name])
        out.append(
            f"INSERT INTO {dst}.{qn(name)} ({columns}) OVERRIDING SYSTEM VALUE SELECT {columns} FROM {src}.{qn(name)}"
        )
    sequences = sorted({name for name, *_ in standalone_sequences} | {seq for _, _, seq in identity_sequences})
    for sequence in sequences:
        out.append(
            f"SELECT setval({_literal(f'{dst}.{qn(sequence)}')}, s.last_value, s.is_called) FROM {src}.{qn(sequence)} s"
        )
    by_table: dict[str, list[str]] = {}
    for table, name, definition in foreign_keys:
        by_table.setdefault(table, []).append(f"ADD CONSTRAINT {qn(name)} {definition}")
    for table, additions in by_table.items():  # one ALTER (one lock, one check pass) per table
        out.append(f"ALTER TABLE {dst}.{qn(table)} {', '.join(additions)}")
    out.extend(_index_renames(plan))
    return plan


def _index_keys(schema: str, tables: list[str]) -> dict[tuple[str, str], list[str]]:
    """Index names per (table, definition without its name and schema), via indexed lookups."""
    keys: dict[tuple[str, str], list[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, ic.relname, pg_get_indexdef(i.indexrelid) FROM pg_class c "
            "JOIN pg_index i ON i.indrelid = c.oid JOIN pg_class ic ON ic.oid = i.indexrelid "
            "WHERE c.relname = ANY(%s) AND c.relnamespace = %s::regnamespace ORDER BY 1, 2",
            [tables, schema],
        )
        for table, index, definition in cursor.fetchall():
            unique = definition.startswith("CREATE UNIQUE ")
            body = definition[definition.index(" USING ") :]
            keys.setdefault((table, f"{'UNIQUE' if unique else ''}{body}"), []).append(index)
    return keys


def _index_renames(plan: ClonePlan) -> list[str]:
    """LIKE ... INCLUDING INDEXES names the copied indexes (and their constraints) itself. Replay
    the plan once into a scratch schema, rolled back, to learn those names: they are the same in
    every fresh schema. Returns the statements giving each index the template's name."""
    qn = connection.ops.quote_name
    dst = qn(_TARGET)
    scratch = f"docos_clone_probe_{os.getpid()}"
    wanted = _index_keys(plan.template, plan.tables)
    sid = transaction.savepoint()
    try:
        with connection.cursor() as cursor:
            cursor.execute(plan.sql_for(scratch))
        _search_path_changed()
        got = _index_keys(scratch, plan.tables)
    finally:
        transaction.savepoint_rollback(sid)
    if {key: len(names) for key, names in got.items()} != {key: len(names) for key, names in wanted.items()}:
        raise CloneMismatch(f"Indexes copied by LIKE differ from the template's: {sorted(set(got) ^ set(wanted))[:3]}")
    pairs = [
        (current, target)
        for key, currents in got.items()
        for current, target in zip(currents, wanted[key], strict=True)
        if current != target
    ]
    existing = {name for names in got.values() for name in names}
    renames: list[str] = []
    if any(target in existing for _, target in pairs):  # avoid clashes: go through temporary names
        temporary = [f"docos_clone_tmp_{number}" for number in range(len(pairs))]
        renames.extend(
            f"ALTER INDEX {dst}.{qn(c)} RENAME TO {qn(t)}" for (c, _), t in zip(pairs, temporary, strict=True)
        )
        pairs = [(t, target) for t, (_, target) in zip(temporary, pairs, strict=True)]
    # Renaming an index that backs a constraint renames the constraint too.
    renames.extend(f"ALTER INDEX {dst}.{qn(current)} RENAME TO {qn(target)}" for current, target in pairs)
    return renames


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_plans: dict[tuple[object, ...], ClonePlan] = {}


def _signature(template: str) -> tuple[object, ...]:
    """Identifies a version of the template: the template is only ever changed by migrations, and
    every migration run adds django_migrations rows. One small query."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT %s::regnamespace::oid, count(*), coalesce(max(id), 0) "
            f"FROM {connection.ops.quote_name(template)}.django_migrations",
            [template],
        )
        row = cursor.fetchone()
    return (connection.settings_dict["NAME"], template, *row)


def clone_plan(template: str) -> ClonePlan:
    """The template's replay plan, read from the catalogs once per template version and process."""
    key = _signature(template)
    plan = _plans.get(key)
    if plan is None:
        with transaction.atomic():  # SET LOCAL search_path ends with it
            plan = _plan(template)
            if not plan.unsupported:
                plan.inventory = inventory(template, plan.relation_names, plan.tables)
        if len(_plans) >= 8:
            _plans.clear()
        _plans[key] = plan
    return plan


def clone_plan_cache_clear() -> None:
    """Forget cached plans (for code that changes the template by hand, i.e. tests)."""
    _plans.clear()


def clone_schema_fast(template: str, target: str) -> bool:
    """Build `target` as a copy of `template` (structure and bookkeeping rows). Returns False,
    having changed nothing, if the template holds objects this does not replay."""
    if not _SAFE_SCHEMA.match(target):
        raise ValueError(f"Unexpected schema name {target!r}.")
    plan = clone_plan(template)
    if plan.unsupported:
        return False
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(plan.sql_for(target))
        _search_path_changed()
        got = inventory(target, plan.relation_names, plan.tables)
        if got != plan.inventory:
            raise CloneMismatch(
                f"Clone of {template} into {target} differs from the template: {_diff(plan.inventory, got)}"
            )
    return True


def _diff(expected: Inventory | None, got: Inventory) -> str:
    if expected is None:
        return "no inventory"
    parts = []
    for label in ("relations", "constraints"):
        want, have = getattr(expected, label), getattr(got, label)
        if want != have:
            parts.append(f"{label} missing {sorted(want - have)[:5]}, unexpected {sorted(have - want)[:5]}")
    if expected.columns != got.columns:
        parts.append(f"columns {got.columns} instead of {expected.columns}")
    return "; ".join(parts)
