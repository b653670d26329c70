"""The plugin's loader: a configuration read, checked and judged (schema, policy, the older
plugin's keys, Orthanc's settings around it, secret files), with every error code. It imports
only jsonschema and the standard library, so the collection's compiler runs it on the controller
(one judge); plugin/tests/test_policy.py keeps it so."""
