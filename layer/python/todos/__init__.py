"""The sample API's domain: what a todo is (resource) and how it is stored (repository).

Shared by the functions in this template through the layer; replace it with your own.
"""
