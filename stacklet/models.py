"""Imports every table so migrations and tests see the whole schema."""

from stacklet.common import models as common_models  # noqa: F401
from stacklet.compute import models as compute_models  # noqa: F401
from stacklet.identity import models as identity_models  # noqa: F401
from stacklet.image import metadef_models  # noqa: F401
from stacklet.image import models as image_models  # noqa: F401
from stacklet.network import models as network_models  # noqa: F401
