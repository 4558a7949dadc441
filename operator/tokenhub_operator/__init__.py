"""The TokenHub operator: reconciles Provider, Model, RoutingPolicy and ApiKey resources into the store."""
