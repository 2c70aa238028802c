import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Swagger UI from the `swagger-ui-dist` files that @nestjs/swagger ships with. SwaggerModule's
 * own UI serving needs @fastify/static under Fastify (and exits the process without it); the
 * page needs only these few files, so they are served from memory instead.
 */

const ASSET_TYPES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** swagger-ui-dist, resolved as @nestjs/swagger resolves it (it is that package's dependency). */
function swaggerUiDistDirectory(): string {
  const fromSwagger = createRequire(require.resolve('@nestjs/swagger'));
  return path.dirname(fromSwagger.resolve('swagger-ui-dist/package.json'));
}

export interface SwaggerUiAsset {
  contentType: string;
  body: Buffer;
}

const loaded = new Map<string, Promise<SwaggerUiAsset>>();

/** One of the UI's files by name, or undefined for any other name. Read once, then cached. */
export function swaggerUiAsset(name: string): Promise<SwaggerUiAsset> | undefined {
  const contentType = ASSET_TYPES[name];
  if (!contentType) return undefined;
  let asset = loaded.get(name);
  if (!asset) {
    asset = readFile(path.join(swaggerUiDistDirectory(), name)).then((body) => ({
      contentType,
      body,
    }));
    void asset.catch(() => loaded.delete(name));
    loaded.set(name, asset);
  }
  return asset;
}

/**
 * The page at `<base>/docs`. Every URL in it is relative (`docs/<asset>`, `openapi.json`), so it
 * also works behind a proxy that mounts the API under a prefix.
 */
export function swaggerUiHtml(options: {
  title: string;
  assets: string;
  document: string;
}): string {
  const init = {
    url: options.document,
    dom_id: '#swagger-ui',
    deepLinking: true,
    // The key typed into "Authorize" (often an admin's) lives as long as the tab, not in the
    // browser's localStorage for anyone at that workstation or any script of this origin.
    persistAuthorization: false,
    displayRequestDuration: true,
  };
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${options.title}</title>
    <link rel="stylesheet" href="${options.assets}/swagger-ui.css">
    <link rel="icon" type="image/png" href="${options.assets}/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="${options.assets}/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${options.assets}/swagger-ui-bundle.js"></script>
    <script>
      window.ui = SwaggerUIBundle(${JSON.stringify(init)});
    </script>
  </body>
</html>
`;
}
