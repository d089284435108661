"""Print fresh development secrets as shell assignments (``make run`` keeps them in
``instance/dev.env``, which git ignores). Production secrets come from the deployment."""

import base64
import os
import secrets


def main():
    print(f"IDP_SECRET_KEY={secrets.token_urlsafe(48)}")
    print(f"IDP_KEY_ENCRYPTION_KEY={base64.urlsafe_b64encode(os.urandom(32)).decode()}")
    print(f"IDP_PAIRWISE_SECRET={secrets.token_urlsafe(48)}")


if __name__ == "__main__":
    main()
