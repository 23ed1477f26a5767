"""Creating a clinic clones the migrated template schema: complete, independent, empty, no migrate run."""

from __future__ import annotations

from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.management import create_contenttypes
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models.signals import pre_migrate
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import Location, Role, User
from audit.models import AuditEvent
from audit.services import GENESIS_HASH, audit_record, row_hash
from clinics.migrations_executor import expected_migrations
from clinics.models import Clinic, Domain
from clinics.services import clinic_create
from clinics.template_schema import BOOKKEEPING_TABLES, template_data_tables, template_schema_name
from docos.tenancy import clinic_host
from tests.clinics.helpers import applied, fingerprint, schema_exists_exact
from tests.conftest import PASSWORD


def _create(slug: str = "gamma", **kwargs: object) -> Clinic:
    kwargs.setdefault("owner_password", PASSWORD)
    return clinic_create(
        slug=slug, name=f"{slug.title()} Clinic", owner_email=f"owner@{slug}.example.in", **kwargs
    ).clinic


def test_new_clinic_has_every_tenant_migration_and_no_migration_runs(clinic_a, monkeypatch):
    signals: list[str] = []
    executor_calls: list[object] = []

    def on_pre_migrate(**kwargs: object) -> None:
        signals.append(connection.schema_name)

    real_migrate = MigrationExecutor.migrate

    def spy_migrate(self: MigrationExecutor, *args: object, **kwargs: object) -> object:
        executor_calls.append(args)
        return real_migrate(self, *args, **kwargs)

    monkeypatch.setattr(MigrationExecutor, "migrate", spy_migrate)
    pre_migrate.connect(on_pre_migrate, dispatch_uid="test-no-migrate")
    try:
        clinic = _create()
    finally:
        pre_migrate.disconnect(dispatch_uid="test-no-migrate")

    assert signals == []
    assert executor_calls == []
    assert expected_migrations("tenant") <= applied(clinic.schema_name)
    assert applied(clinic.schema_name) == applied(template_schema_name())


def test_clone_has_the_structure_of_the_template(clinic_a):
    clinic = _create()
    template = fingerprint(template_schema_name())
    clone = fingerprint(clinic.schema_name)
    assert clone["columns"] and clone["indexes"] and clone["constraints"]
    assert clone == template


def test_clone_references_only_its_own_tables_and_sequences(clinic_a):
    clinic = _create()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT con.conname, rn.nspname FROM pg_constraint con "
            "JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_class rc ON rc.oid = con.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace "
            "WHERE n.nspname = %s AND con.contype = 'f' AND rn.nspname <> n.nspname",
            [clinic.schema_name],
        )
        assert cursor.fetchall() == []  # no foreign key into the template (or another clinic)
        cursor.execute(
            "SELECT c.relname, a.attname, pg_get_serial_sequence(quote_ident(n.nspname) || '.' || "
            "quote_ident(c.relname), a.attname) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r' AND a.attidentity <> ''",
            [clinic.schema_name],
        )
        identity_columns = cursor.fetchall()
    assert ("audit_auditevent", "seq", f"{clinic.schema_name}.audit_auditevent_seq_seq") in identity_columns
    for table, column, sequence in identity_columns:
        assert sequence.startswith(f"{clinic.schema_name}."), (table, column, sequence)


def test_sequences_start_fresh_and_do_not_collide_between_clinics(clinic_a):
    gamma, delta = _create("gamma"), _create("delta")
    seqs = []
    for clinic in (gamma, delta):
        with tenant_context(clinic):
            seqs.append(audit_record(actor=None, action="test.event").seq)
    assert seqs == [2, 2]  # each clinic: clinic.create is #1, this is #2 -- counters are per schema
    with connection.cursor() as cursor:
        # Tables that do carry rows (content types, permissions) continue after the copied ids.
        for table in sorted(BOOKKEEPING_TABLES):
            cursor.execute(
                f'SELECT (SELECT coalesce(max(id), 0) FROM "{gamma.schema_name}".{table}), '
                f"(SELECT last_value FROM pg_sequences WHERE schemaname = %s AND sequencename = %s)",
                [gamma.schema_name, f"{table}_id_seq"],
            )
            max_id, last_value = cursor.fetchone()
            assert max_id > 0 and last_value is not None and last_value >= max_id, table


def test_new_clinic_audit_chain_starts_at_genesis(clinic_a):
    clinic = _create()
    with tenant_context(clinic):
        events = list(AuditEvent.objects.order_by("seq"))
    assert [(e.seq, e.action) for e in events] == [(1, "clinic.create")]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[0].row_hash == row_hash(events[0])


def test_template_holds_no_rows_besides_migration_bookkeeping(clinic_a):
    assert template_data_tables() == {}
    with connection.cursor() as cursor:
        for table in BOOKKEEPING_TABLES:
            cursor.execute(f'SELECT count(*) FROM "{template_schema_name()}".{table}')
            assert cursor.fetchone()[0] > 0, table


def test_template_data_check_catches_a_stray_row(clinic_a):
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{template_schema_name()}".accounts_role (id, slug, name, description, capabilities, '
            "is_builtin) VALUES (gen_random_uuid(), 'x', 'X', '', '{}', false)"
        )
    assert template_data_tables() == {"accounts_role": 1}


def test_clone_content_types_and_permissions_are_complete_and_match_public(clinic_a):
    clinic = _create()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, app_label, model FROM public.django_content_type ORDER BY id")
        public_types = cursor.fetchall()
    with tenant_context(clinic):
        ContentType.objects.clear_cache()
        clone_types = list(ContentType.objects.order_by("id").values_list("id", "app_label", "model"))
        permissions = Permission.objects.count()
        # What post_migrate would create is already there: nothing new appears.
        for config in apps.get_app_configs():
            create_contenttypes(config, verbosity=0)
            create_permissions(config, verbosity=0)
        assert ContentType.objects.count() == len(clone_types)
        assert Permission.objects.count() == permissions
        assert not Permission.objects.exclude(content_type__in=ContentType.objects.all()).exists()
        ContentType.objects.clear_cache()
    # ContentType's cache is per process, not per schema: ids must agree everywhere.
    assert clone_types == public_types


def test_new_clinic_gets_roles_locations_owner_and_domain(clinic_a):
    created = clinic_create(
        slug="gamma",
        name="Gamma Clinic",
        owner_email="Owner@Gamma.example.in",
        owner_password=PASSWORD,
        locations=("Andheri", "Bandra"),
        gstin="29aagcs1234k1z7",
        billing_state="Karnataka",
        timezone="Asia/Kolkata",
    )
    clinic = Clinic.objects.get(slug="gamma")
    assert clinic.schema_name == "t_gamma" and clinic.gstin == "29AAGCS1234K1Z7"
    assert clinic.status == Clinic.Status.ACTIVE and clinic.created_at is not None
    assert Domain.objects.get(tenant=clinic).domain == "gamma.testserver.local"
    assert created.url == "http://gamma.testserver.local/"
    assert created.set_password_url is None
    with tenant_context(clinic):
        assert Role.objects.filter(is_builtin=True).count() == 7
        assert sorted(Location.objects.values_list("name", flat=True)) == ["Andheri", "Bandra"]
        owner = User.objects.get()
        assert owner.email == "owner@gamma.example.in" and owner.role is not None and owner.role.slug == "owner"
        assert owner.check_password(PASSWORD)


def test_clinic_create_command_prints_url_and_a_working_one_time_link(clinic_a):
    out = StringIO()
    call_command("clinic_create", slug="gamma", name="Gamma Clinic", owner_email="owner@gamma.example.in", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Created clinic Gamma Clinic at http://gamma.testserver.local/"
    assert lines[1].startswith("Owner owner@gamma.example.in: set a password at http://gamma.testserver.local/set-")
    link = lines[1].rsplit(" ", 1)[1].removeprefix("http://gamma.testserver.local")
    with tenant_context(Clinic.objects.get(slug="gamma")):
        assert not User.objects.get().has_usable_password()
    connection.set_schema_to_public()
    assert Client(HTTP_HOST=clinic_host("gamma")).get(link).status_code == 200
    # The link belongs to that clinic: on another clinic's host it is not a valid link.
    assert Client(HTTP_HOST=clinic_a.host).get(link).status_code == 400


def test_clinic_create_command_reports_validation_errors(clinic_a):
    with pytest.raises(CommandError, match="gstin: This GSTIN's check digit is wrong"):
        call_command("clinic_create", slug="gamma", name="G", owner_email="o@gamma.example.in", gstin="29AAGCS1234K1Z8")
    assert not Clinic.objects.filter(slug="gamma").exists()


# --- nothing is left behind when creation fails -------------------------------------------------------


def _nothing_left(slug: str) -> None:
    assert not Clinic.objects.filter(slug=slug).exists()
    assert not Domain.objects.filter(domain=clinic_host(slug)).exists()
    assert not schema_exists_exact(f"t_{slug}")


def test_invalid_owner_password_leaves_nothing_behind(clinic_a):
    with pytest.raises(ValidationError) as exc:
        _create("gamma", owner_password="short")
    assert "password" in exc.value.message_dict
    _nothing_left("gamma")


def test_duplicate_slug_is_refused_and_the_existing_clinic_is_untouched(clinic_a):
    with pytest.raises(ValidationError) as exc:
        _create("alpha")
    assert exc.value.message_dict["slug"] == ["A clinic with the address 'alpha' already exists."]
    assert Clinic.objects.filter(slug="alpha").count() == 1
    with tenant_context(clinic_a.clinic):
        assert User.objects.filter(email="owner@alpha.example.in").exists()


def test_reserved_or_malformed_slug_is_refused(clinic_a):
    for slug in ("www", "ab", "-bad", "has_underscore", "x" * 41):
        with pytest.raises(ValidationError) as exc:
            _create(slug)
        assert "slug" in exc.value.message_dict, slug
        _nothing_left(slug)


def test_failure_after_the_clone_rolls_back_schema_and_rows(clinic_a, monkeypatch):
    def boom(**kwargs: object) -> None:
        assert schema_exists_exact("t_gamma")  # the clone did happen before the failure
        raise RuntimeError("audit store down")

    monkeypatch.setattr("clinics.services.audit_record", boom)
    with pytest.raises(RuntimeError, match="audit store down"):
        _create("gamma")
    connection.set_schema_to_public()
    _nothing_left("gamma")


def test_failure_on_the_owner_rolls_back_schema_and_rows(clinic_a, monkeypatch):
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("cannot create owner")

    monkeypatch.setattr(User.objects, "create_user", boom)
    with pytest.raises(RuntimeError):
        _create("gamma")
    connection.set_schema_to_public()
    _nothing_left("gamma")


def _leftover_schema() -> None:
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "t_gamma"; CREATE TABLE "t_gamma".keep_me (id int)')
        cursor.execute('INSERT INTO "t_gamma".keep_me VALUES (7)')


def _leftover_kept() -> None:
    connection.set_schema_to_public()
    assert not Clinic.objects.filter(slug="gamma").exists()
    with connection.cursor() as cursor:
        cursor.execute('SELECT id FROM "t_gamma".keep_me')  # someone's data is never dropped by a failed create
        assert cursor.fetchall() == [(7,)]


def test_leftover_schema_with_the_same_name_is_refused_and_kept(clinic_a):
    _leftover_schema()
    with pytest.raises(ValidationError, match="database schema already exists"):
        _create("gamma")
    _leftover_kept()


def test_saving_a_clinic_over_a_leftover_schema_neither_adopts_nor_drops_it(clinic_a):
    _leftover_schema()
    clinic = Clinic(slug="gamma", name="Gamma", schema_name="t_gamma", contact_email="o@gamma.example.in")
    with pytest.raises(ValidationError, match="already exists"), transaction.atomic():
        clinic.save()
    _leftover_kept()


def test_clone_function_is_installed_once_and_reinstalled_when_missing(clinic_a):
    from clinics.services import CLONE_FUNCTION_TAG, ensure_clone_function

    ensure_clone_function()
    assert ensure_clone_function() is False  # installed: one catalog read, no DDL
    with connection.cursor() as cursor:
        cursor.execute("DROP FUNCTION public.clone_schema(text, text, public.cloneparms[])")
    assert ensure_clone_function() is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description('public.clone_schema(text, text, public.cloneparms[])'::regprocedure)")
        assert cursor.fetchone()[0] == CLONE_FUNCTION_TAG
