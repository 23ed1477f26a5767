from django.contrib.postgres.operations import BtreeGistExtension, TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    """Installed once in the public schema; every clinic schema sees them through its search path.
    pg_trgm powers fuzzy patient search, btree_gist the no-double-booking exclusion constraint."""

    dependencies = [("clinics", "0001_initial")]
    operations = [TrigramExtension(), BtreeGistExtension()]
