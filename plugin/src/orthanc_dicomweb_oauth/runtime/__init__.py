"""The plugin at work inside Orthanc: token providers, the token manager with its cache, shared
cache, retries and breaker, JWT validation, metrics, the REST API and the registration with
Orthanc. It needs the plugin's runtime libraries (requests, cryptography, jwt, redis,
prometheus_client) and uses the loader for its configuration."""
