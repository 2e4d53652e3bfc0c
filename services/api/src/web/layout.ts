import { SUBMITTING_ROLES, type Principal } from '@vru/contracts';
import { html, type Html, type HtmlValue } from './html.js';

export interface PageContext {
  principal: Principal | null;
  csrf: string | null;
  /** The path of the page, to mark its navigation item as current. */
  path: string;
}

interface NavItem {
  href: string;
  text: string;
  roles: readonly string[];
}

/** The pages each role can open, in menu order. */
export const NAV: readonly NavItem[] = [
  { href: '/app/overview', text: 'Overview', roles: ['commissioner', 'admin', 'provider'] },
  { href: '/app/funding', text: 'Funding', roles: ['funder', 'commissioner', 'admin'] },
  { href: '/app/contracts', text: 'Contracts', roles: ['provider', 'commissioner', 'funder', 'admin'] },
  { href: '/app/impact', text: 'Impact', roles: ['commissioner', 'admin'] },
  { href: '/app/returns', text: 'Returns', roles: ['commissioner', 'funder', 'admin'] },
  { href: '/app/upload', text: 'Upload a file', roles: SUBMITTING_ROLES },
];

export const ROLE_NAMES: Record<string, string> = {
  commissioner: 'Commissioner',
  funder: 'Funder',
  provider: 'Provider',
  'data-partner': 'Data partner',
  admin: 'Administrator',
};

/** The service navigation (a service outside GOV.UK uses it instead of the GOV.UK header): name, pages, sign out. */
function serviceNavigation(ctx: PageContext): Html {
  const items = ctx.principal ? NAV.filter((n) => n.roles.includes(ctx.principal!.role)) : [];
  const who = ctx.principal
    ? `${ROLE_NAMES[ctx.principal.role] ?? ctx.principal.role}${ctx.principal.providerId ? `: ${ctx.principal.providerId}` : ''}`
    : '';
  return html`<header role="banner">
  <section class="govuk-service-navigation" aria-label="Service information">
    <div class="govuk-width-container">
      <div class="govuk-service-navigation__container">
        <span class="govuk-service-navigation__service-name"><a href="/app" class="govuk-service-navigation__link">VRU intervention outcomes</a></span>
        ${
          items.length
            ? html`<nav aria-label="Menu" class="govuk-service-navigation__wrapper">
          <ul class="govuk-service-navigation__list" id="navigation">
            ${items.map((n) =>
              n.href === ctx.path
                ? html`<li class="govuk-service-navigation__item govuk-service-navigation__item--active"><a class="govuk-service-navigation__link" href="${n.href}" aria-current="page"><strong class="govuk-service-navigation__active-fallback">${n.text}</strong></a></li>`
                : html`<li class="govuk-service-navigation__item"><a class="govuk-service-navigation__link" href="${n.href}">${n.text}</a></li>`,
            )}
          </ul>
        </nav>`
            : ''
        }
        ${
          ctx.principal
            ? html`<form method="post" action="/app/sign-out" class="app-sign-out">
          <input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}">
          <span class="govuk-body-s app-signed-in-as">Signed in as ${who}</span>
          <button type="submit" class="govuk-button govuk-button--secondary app-sign-out__button" data-module="govuk-button">Sign out</button>
        </form>`
            : ''
        }
      </div>
    </div>
  </section>
</header>`;
}

/** The GOV.UK page template: skip link, header, menu, one main landmark, footer. */
export function page(ctx: PageContext, title: string, content: HtmlValue): Html {
  return html`<!DOCTYPE html>
<html lang="en" class="govuk-template">
<head>
  <meta charset="utf-8">
  <title>${title} – VRU intervention outcomes</title>
  <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
  <meta name="robots" content="noindex">
  <link rel="stylesheet" href="/app/govuk/govuk-frontend.min.css">
  <link rel="stylesheet" href="/app/app.css">
</head>
<body class="govuk-template__body">
  <a href="#main-content" class="govuk-skip-link">Skip to main content</a>
  ${serviceNavigation(ctx)}
  <div class="govuk-width-container">
    <main class="govuk-main-wrapper" id="main-content" role="main">
      ${content}
    </main>
  </div>
  <footer class="govuk-footer" role="contentinfo">
    <div class="govuk-width-container">
      <p class="govuk-body-s">Derby and Derbyshire Violence Reduction Unit – intervention outcome tracking. Figures are computed from the event log; each table says the log position it was computed at.</p>
    </div>
  </footer>
</body>
</html>`;
}

/** Extra styles: chart sizing and the marker for withheld figures (govuk-frontend supplies the rest). */
export const APP_CSS = `
.app-chart svg { max-width: 100%; height: auto; }
.app-chart { margin-bottom: 15px; }
.app-suppressed { text-decoration: none; border-bottom: 1px dotted #0b0c0c; cursor: help; }
.app-sign-out { display: flex; align-items: center; gap: 15px; margin-left: auto; padding: 10px 0; }
.app-sign-out__button { margin-bottom: 0; }
.app-signed-in-as { margin: 0; }
.app-table-scroll { overflow-x: auto; }
.app-select--full { width: 100%; min-width: 0; }
.app-hash { word-break: break-all; }
.govuk-service-navigation__container { display: flex; flex-wrap: wrap; align-items: center; }
`;
