// The ciel studio: a single-page app over ciel's public API. main lays out
// the frame (header, navigation, page outlet) and registers the pages.
import './style.css';
import { h } from './dom';
import { assetRoutes } from './pages/assets';
import { cicdPage, ciPipelinePage, ciRunPage } from './pages/cicd';
import { comparePage } from './pages/compare';
import { factoryPage, factoryPipelinePage, factoryRunPage } from './pages/factory';
import { experimentsPage } from './pages/experiments';
import { jobPage } from './pages/job';
import { endpointPage, endpointsPage } from './pages/endpoints';
import { jobsPage } from './pages/jobs';
import { modelLatestPage, modelsPage, modelVersionPage } from './pages/models';
import { runPage } from './pages/run';
import { runsPage } from './pages/runs';
import { workspacesPage } from './pages/workspaces';
import { navigate, route, start } from './router';
import { wsPath } from './parts';

route('/', workspacesPage);
route('/workspaces', workspacesPage);
route('/workspaces/:ws', (p) => {
  queueMicrotask(() => navigate(wsPath(p.ws, 'jobs'), true));
  return { title: p.ws, el: h('section') };
});
route('/workspaces/:ws/jobs', jobsPage);
route('/workspaces/:ws/jobs/:name', jobPage);
route('/workspaces/:ws/experiments', experimentsPage);
route('/workspaces/:ws/experiments/:id', runsPage);
route('/workspaces/:ws/experiments/:id/runs/:run', runPage);
route('/workspaces/:ws/runs/:run', runPage);
route('/workspaces/:ws/compare', comparePage);
route('/workspaces/:ws/models', modelsPage);
route('/workspaces/:ws/models/:name', modelLatestPage);
route('/workspaces/:ws/models/:name/:version', modelVersionPage);
route('/workspaces/:ws/endpoints', endpointsPage);
route('/workspaces/:ws/endpoints/:name', endpointPage);
for (const [pattern, render] of assetRoutes) route(pattern, render);
route('/workspaces/:ws/pipelines', cicdPage);
route('/workspaces/:ws/pipelines/:name', ciPipelinePage);
route('/workspaces/:ws/pipeline-runs/:id', ciRunPage);
route('/workspaces/:ws/data-factory', factoryPage);
route('/workspaces/:ws/data-factory/pipelines/:name', factoryPipelinePage);
route('/workspaces/:ws/data-factory/runs/:id', factoryRunPage);

const nav = h('nav', { class: 'top', 'aria-label': 'Workspace' });
const outlet = h('main', { id: 'main' });
const app = document.getElementById('app') ?? document.body;
app.replaceChildren(
  h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
  h('header', { class: 'bar' }, h('a', { class: 'brand', href: '/' }, 'ciel studio'), nav),
  outlet,
);

// The navigation names the workspace the page is in, with its sections.
start(outlet, (path) => {
  const m = /^\/workspaces\/([^/]+)(\/[^/]+)?/.exec(path);
  nav.replaceChildren();
  if (!m) return;
  const ws = decodeURIComponent(m[1]);
  const section = m[2] ?? '';
  const link = (label: string, sec: string, match: string[]) =>
    h('a', { href: wsPath(ws, sec), 'aria-current': match.includes(section) ? 'page' : null }, label);
  nav.append(h('span', { class: 'ws' }, ws), link('Jobs', 'jobs', ['/jobs']), link('Experiments', 'experiments', ['/experiments', '/runs']));
  nav.append(link('Models', 'models', ['/models']), link('Endpoints', 'endpoints', ['/endpoints']));
  nav.append(link('Data', 'data', ['/data']), link('Environments', 'environments', ['/environments']), link('Components', 'components', ['/components']), link('Computes', 'computes', ['/computes']));
  nav.append(link('CI/CD', 'pipelines', ['/pipelines', '/pipeline-runs']), link('Data Factory', 'data-factory', ['/data-factory']));
});
