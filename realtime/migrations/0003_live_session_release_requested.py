from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("realtime", "0002_live_session_attached"),
    ]

    operations = [
        migrations.AddField(
            model_name="livesession",
            name="release_requested",
            field=models.BooleanField(default=False),
        ),
    ]
