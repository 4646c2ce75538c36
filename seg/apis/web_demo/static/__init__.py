"""The web page of the demo (index.html, app.js, style.css): package data, no Python code."""
