"""Enterprises (legal persons): credit codes, representatives, administrators, handlers, agent
firms, and acting for an enterprise in a login (``service``, ``choosing``)."""
