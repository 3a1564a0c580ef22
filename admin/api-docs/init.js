// Starts Swagger UI on the OpenAPI document of this server. A separate file, not an inline
// script, so the page works under Warden's CSP (script-src 'self').
/* global SwaggerUIBundle */
window.addEventListener('DOMContentLoaded', function () {
  window.ui = SwaggerUIBundle({
    url: '/api/v1/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: false,
    tryItOutEnabled: false,
  });
});
