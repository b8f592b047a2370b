"""The ODK Central reading API: OData feeds and the REST calls pyodk makes, so Excel, Power BI,
ruODK and pyodk read pcmd as they read Central. One module per resource; `routes.py` mounts them.
"""
