/**
 * The little client code the server-rendered pages need (bundled by scripts/build-ui.mjs into dist/ui/assets/app.js,
 * with the parts of Chart.js it uses): search as you type, editing and deleting a memory, retrying parked
 * compressions, and the Health page's charts. Every change is a same-origin JSON POST; the server checks its Origin.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

interface ApiError {
  error: { code: string; message: string };
}

async function post<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${res.status}: ${text.slice(0, 200)}`);
  }
  if (!res.ok) throw new Error((value as ApiError).error?.message ?? `request failed (${res.status})`);
  return value as T;
}

const $ = <T extends Element = HTMLElement>(sel: string, root: ParentNode = document) => root.querySelector<T>(sel);

// ---- Search: results follow the form as the user types (250 ms after the last key), and the URL with them ----

function searchAsYouType(form: HTMLFormElement): void {
  const results = $('#results')!;
  let timer: number | undefined;
  let seq = 0;
  const run = async () => {
    const params = new URLSearchParams(new FormData(form) as unknown as Record<string, string>);
    for (const [k, v] of [...params]) if (v === '') params.delete(k);
    const mine = ++seq;
    results.setAttribute('aria-busy', 'true');
    try {
      const res = await fetch(`/search/results?${params.toString()}`);
      const body = await res.text();
      // A slower earlier answer must not overwrite a newer one.
      if (mine !== seq) return;
      results.innerHTML = res.ok ? body : `<p class="notice">${errorText(body)}</p>`;
      history.replaceState(null, '', `/search?${params.toString()}`);
    } finally {
      if (mine === seq) results.removeAttribute('aria-busy');
    }
  };
  const later = () => {
    clearTimeout(timer);
    timer = window.setTimeout(() => void run(), 250);
  };
  form.addEventListener('input', later);
  form.addEventListener('change', later);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(timer);
    void run();
  });
}

/** The message of an error the server answered (a page or JSON), as text. */
function errorText(body: string): string {
  try {
    return (JSON.parse(body) as ApiError).error.message.replace(/</g, '&lt;');
  } catch {
    const doc = new DOMParser().parseFromString(body, 'text/html');
    return (doc.querySelector('.notice')?.textContent ?? 'the search failed').replace(/</g, '&lt;');
  }
}

// ---- Memory: edit tags and type; delete after showing exactly what the dry run says would go ----

interface MemoryResult {
  tags: string[];
  type: string;
}
interface DeleteResult {
  matched: number;
  deleted: number;
  trashed: boolean;
  memories: { hash: string; preview: string; type: string }[];
}

function memoryPage(article: HTMLElement): void {
  const hash = article.dataset.hash!;
  const form = $<HTMLFormElement>('#edit', article)!;
  const formStatus = $('.status', form)!;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const field = (name: string) => {
      const v = data.get(name);
      return typeof v === 'string' ? v.trim() : '';
    };
    const tags = field('tags')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    formStatus.textContent = 'saving…';
    post<MemoryResult>(`/api/memory/${hash}/update`, { tags, type: field('type') })
      .then((m) => {
        formStatus.textContent = 'saved';
        const now = $('#tags-now')!;
        now.replaceChildren(
          ...m.tags.map((t) => Object.assign(document.createElement('span'), { className: 'tag', textContent: t })),
        );
        $<HTMLInputElement>('input[name=tags]', form)!.value = m.tags.join(', ');
        $<HTMLInputElement>('input[name=type]', form)!.value = m.type;
        $('h1 .type')!.textContent = m.type;
      })
      .catch((err: Error) => (formStatus.textContent = err.message));
  });

  const section = $('section.danger', article)!;
  const status = $('p.status', section)!;
  const confirm = $('#delete-confirm', section)!;
  $('#delete-preview', section)!.addEventListener('click', () => {
    status.textContent = '';
    post<DeleteResult>(`/api/memory/${hash}/delete`, { dryRun: true })
      .then((r) => {
        $('.what', confirm)!.textContent =
          `This moves ${r.matched} ${r.matched === 1 ? 'memory' : 'memories'} to the trash ` +
          '(`mnemo restore` brings it back for 7 days):';
        $('.going', confirm)!.replaceChildren(
          ...r.memories.map((m) =>
            Object.assign(document.createElement('li'), { textContent: `${m.hash} ${m.type}: ${m.preview}` }),
          ),
        );
        confirm.hidden = false;
      })
      .catch((err: Error) => (status.textContent = err.message));
  });
  $('#delete-cancel', section)!.addEventListener('click', () => (confirm.hidden = true));
  $('#delete-go', section)!.addEventListener('click', () => {
    post<DeleteResult>(`/api/memory/${hash}/delete`, { dryRun: false })
      .then((r) => {
        confirm.hidden = true;
        $('#delete-preview', section)!.setAttribute('disabled', '');
        form.querySelectorAll('input, button').forEach((el) => el.setAttribute('disabled', ''));
        status.innerHTML = '';
        status.append(
          `Moved ${r.deleted} ${r.deleted === 1 ? 'memory' : 'memories'} to the trash. `,
          Object.assign(document.createElement('a'), { href: '/search', textContent: 'Back to search' }),
        );
      })
      .catch((err: Error) => (status.textContent = err.message));
  });
}

// ---- Health: charts from the JSON the server put in the page; retry buttons for parked compressions ----

interface ChartData {
  timeline: { days: { day: number; count: number; byType: Record<string, number> }[] };
  types: Record<string, number>;
  projects: { label: string; count: number }[];
  tags: { label: string; count: number }[];
  hooks: Record<string, { p50: number; p95: number; p99: number }>;
}

const PALETTE = ['#3b6ea8', '#d9822b', '#3a9a5b', '#b5475a', '#7a5ab8', '#8a7a3c', '#2b9aa8', '#888888'];

function chart(id: string, config: ChartConfiguration, points: number): void {
  const canvas = document.getElementById(id) as HTMLCanvasElement | null;
  if (!canvas) return;
  // Charts are for reading, not watching: no animation, so what is drawn is final at once (and in screenshots).
  config.options = { animation: false, maintainAspectRatio: false, responsive: true, ...config.options };
  new Chart(canvas, config);
  canvas.dataset.points = String(points);
}

function healthPage(): void {
  const data = JSON.parse(document.getElementById('chart-data')?.textContent ?? '{}') as ChartData;
  const days = data.timeline.days;
  const types = [...new Set(days.flatMap((d) => Object.keys(d.byType)))];
  chart(
    'chart-timeline',
    {
      type: 'bar',
      data: {
        labels: days.map((d) => new Date(d.day).toISOString().slice(0, 10)),
        datasets: types.map((t, i) => ({
          label: t,
          data: days.map((d) => d.byType[t] ?? 0),
          backgroundColor: PALETTE[i % PALETTE.length]!,
        })),
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    },
    days.length,
  );
  const bars = (id: string, rows: { label: string; count: number }[], color: string) =>
    chart(
      id,
      {
        type: 'bar',
        data: {
          labels: rows.map((r) => r.label),
          datasets: [{ label: 'memories', data: rows.map((r) => r.count), backgroundColor: color }],
        },
        // Every label shown: these are short top-N lists, not axes to thin out.
        options: {
          indexAxis: 'y',
          plugins: { legend: { display: false } },
          scales: { y: { ticks: { autoSkip: false } } },
        },
      },
      rows.length,
    );
  bars(
    'chart-types',
    Object.entries(data.types).map(([label, count]) => ({ label, count })),
    PALETTE[0]!,
  );
  bars('chart-projects', data.projects, PALETTE[1]!);
  bars('chart-tags', data.tags, PALETTE[2]!);
  const events = Object.keys(data.hooks);
  chart(
    'chart-hooks',
    {
      type: 'bar',
      data: {
        labels: events,
        datasets: (['p50', 'p95', 'p99'] as const).map((p, i) => ({
          label: p,
          data: events.map((e) => data.hooks[e]![p]),
          backgroundColor: PALETTE[i + 3]!,
        })),
      },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } } } },
    },
    events.length,
  );

  const status = $('.queue .status');
  document.querySelectorAll<HTMLButtonElement>('button.retry').forEach((button) =>
    button.addEventListener('click', () => {
      const body = button.dataset.all ? {} : { ids: [Number(button.dataset.id)] };
      post<{ retried: number }>('/api/compressions/retry', body)
        .then((r) => {
          if (status) status.textContent = `${r.retried} back in the queue; reload to follow them`;
          button.disabled = true;
        })
        .catch((err: Error) => status && (status.textContent = err.message));
    }),
  );
}

document.addEventListener('DOMContentLoaded', () => {
  const search = $<HTMLFormElement>('form#search');
  if (search) searchAsYouType(search);
  const memory = $('article.memory');
  if (memory) memoryPage(memory);
  if (document.getElementById('chart-data')) healthPage();
});
