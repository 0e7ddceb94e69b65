"""``python -m custos_verify PACKAGE.zip [--fingerprint FP]``."""

from custos_verify.cli import main

raise SystemExit(main())
