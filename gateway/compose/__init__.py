"""Composition: what the gateway builds from several services' answers, shared by routes and pages."""
