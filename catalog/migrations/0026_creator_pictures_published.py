# The shop pictures are public: store them under media/published/, the only part of MEDIA_ROOT that is served.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0025_takedown_removed_status_and_suspension"),
    ]

    operations = [
        migrations.AlterField(
            model_name="creatorprofile",
            name="avatar",
            field=models.ImageField(blank=True, upload_to="published/creators/avatars/%Y/%m/"),
        ),
        migrations.AlterField(
            model_name="creatorprofile",
            name="banner",
            field=models.ImageField(blank=True, upload_to="published/creators/banners/%Y/%m/"),
        ),
    ]
