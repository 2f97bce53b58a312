"""One language code standard: rows stored before it ("eng" from Scribe's
batch API next to "en" from live sessions) are normalised, so the library's
language filter lists each language once."""

from django.db import migrations


def normalise(apps, schema_editor):
    from transcripts.languages import normalise_language

    Transcript = apps.get_model("transcripts", "Transcript")
    codes = Transcript.objects.exclude(language_code="").values_list("language_code", flat=True).distinct()
    for code in list(codes):
        standard = normalise_language(code)
        if standard != code:
            Transcript.objects.filter(language_code=code).update(language_code=standard)


class Migration(migrations.Migration):
    dependencies = [("transcripts", "0005_resumable_uploads")]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
