"""Docker-free `sam local`: invoke a function, serve the HttpApi, run a local PostgreSQL; and
add a resource to the API.

    python -m localdev invoke ApiFunction -e events/todos_list.json
    python -m localdev serve --port 3000
    python -m localdev db status
    python -m localdev resource projects name:str budget:int? tags:str[]

Driven by the same `template.yaml` and `events/` as `sam local invoke` and `sam local
start-api`; local only, never shipped in the Lambda layer. Importing this package imports
nothing else: the function's sandbox process imports it before the handler.
"""

__all__: list[str] = []
