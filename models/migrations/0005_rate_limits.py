"""Rate-limit windows: attempts per key and fixed window, shared by every instance.

Logins and refreshes are counted here when they begin (an atomic upsert), so that
concurrent attempts and attempts at other instances all count; see tokens/rate_limits.py.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_normalised_names')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RateLimitWindow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(max_length=200)),
                ('window_start', fields.BigIntField(db_index=True)),
                ('attempts', fields.IntField()),
            ],
            options={'table': 'rate_limit_window', 'app': 'models', 'unique_together': (('key', 'window_start'),), 'pk_attr': 'id', 'table_description': 'Attempts under one rate-limit key in one fixed window (see ``tokens.rate_limits``).'},
            bases=['Model'],
        ),
    ]
