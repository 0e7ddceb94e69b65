"""The ``custos`` command: :mod:`.main` assembles one click group (or command) per module; the
modules never import each other, only :mod:`.options` (the options they share)."""
