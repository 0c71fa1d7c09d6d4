// Swagger UI for the JSON API, from this origin (the CSP allows no inline script).
"use strict";
window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});
