import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { ConfigError } from '../config/load-config.ts';
import { readEnvironment, type Environment } from '../config/environment.ts';
import { Mesa } from '../app.ts';
import { createLogger } from '../log.ts';
import { EX } from './exit-codes.ts';
import { isStoreError } from '../store/errors.ts';
import { configCheckCommand, dbCopyCommand, explainCommand, ingestCommand, migrateCommand, panelTokenCommand, quarantineListCommand, quarantineRetryAllCommand, quarantineRetryCommand, reportSlaCommand, templatesPreviewCommand, ticketsListCommand, ticketsShowCommand, type Io, type ReportSlaOptions, type TicketsListOptions } from './commands.ts';
import { doctorCommand } from './doctor.ts';
import { incidentsDeclareCommand, incidentsListCommand, incidentsShowCommand, incidentsUpdateCommand } from './incident-commands.ts';
import { startProgress } from './progress.ts';

const io: Io = { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) };

function environment(): Environment {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return readEnvironment();
}

/** Runs a command and turns expected failures into clear messages and sysexits codes. */
async function run(fn: () => number | Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (err) {
    if (err instanceof ConfigError) { io.err(err.message); process.exitCode = EX.CONFIG; return; }
    if (isStoreError(err, 'unavailable', 'busy')) { io.err(`mesa: ${err.message}`); process.exitCode = EX.UNAVAILABLE; return; }
    io.err(`mesa: ${(err as Error).message}`);
    process.exitCode = EX.SOFTWARE;
  }
}

const program = new Command('mesa')
  .description('Mesa: la puerta de entrada de la Mesa de Ayuda (correo, teléfono y web → tickets clasificados con ETR)')
  .showHelpAfterError();

/** Exit codes after a second signal: 128 + the signal's number, as a shell reports a process killed by it. */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

program.command('start').description('inicia el servicio (IMAP o carpeta local, despachador de salida, HTTP)').action(() => run(async () => {
  const log = createLogger();
  // MESA_TWILIO_API_URL: tests only, a local server that speaks Twilio's REST API (as for `mesa doctor`).
  const mesa = await Mesa.open(environment(), { log, twilioApiBaseUrl: process.env.MESA_TWILIO_API_URL || undefined });
  // Graceful shutdown on the first SIGTERM/SIGINT (see Mesa.stop: intake stops, the batch in
  // flight commits, the outbox sends what is due, IMAP and HTTP close); a second signal while
  // stopping exits at once — what is not committed is simply redone at the next start.
  let stopping = false;
  let markStopped: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => { markStopped = resolve; });
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ event: 'mesa.forced_exit', signal }, 'segunda señal: salida inmediata');
      process.exit(SIGNAL_EXIT[signal] ?? 1);
    }
    stopping = true;
    log.info({ event: 'mesa.stopping', signal }, 'deteniendo (otra señal para salir de inmediato)');
    void mesa.stop().then(() => EX.OK, (err: Error) => {
      log.error({ event: 'mesa.stop_failed', error: err.message }, 'fallo al detener');
      return EX.SOFTWARE;
    }).then(markStopped);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // SIGHUP reloads config, organisations, rules and templates; an invalid set is logged and the
  // running one kept (Mesa.reload).
  process.on('SIGHUP', () => {
    if (!stopping) mesa.reload();
  });
  try {
    await mesa.start();
  } catch (err) {
    // E.g. the HTTP port is taken: release what did start (pollers, timers) so the process ends.
    await mesa.stop().catch(() => undefined);
    throw err;
  }
  const code = await stopped;
  // Whatever still holds the event loop (a send cut off by the flush timeout) must not keep a
  // stopped daemon alive.
  setTimeout(() => process.exit(), 2_000).unref();
  return code;
}));

program.command('doctor').description('revisa la configuración, las plantillas, la base de datos y la conexión a IMAP, SMTP y Twilio')
  .option('--json', 'resultado en JSON').option('--timeout <segundos>', 'espera máxima por cada servidor', '10')
  .action((opts: { json?: boolean; timeout?: string }) => run(() => doctorCommand(opts, io, environment, process.env.MESA_TWILIO_API_URL || undefined)));

program.command('migrate').description('aplica las migraciones pendientes del esquema de la base de datos y termina')
  .action(() => run(() => migrateCommand(environment(), io)));

const config = program.command('config').description('la configuración del escritorio');
config.command('check').argument('[dir]', 'directorio de configuración a revisar (por omisión, el que está en uso)')
  .description('valida una configuración y dice qué cambiaría frente a la que está en uso')
  .action((dir: string | undefined) => run(() => configCheckCommand(environment(), dir, io)));

const db = program.command('db').description('la base de datos del escritorio');
db.command('copy').description('copia el escritorio SQLite de este directorio de datos a una base PostgreSQL vacía y verifica las cuentas')
  .requiredOption('--to <url>', 'postgres://usuario:contraseña@servidor:5432/base').option('--json', 'resultado en JSON')
  .action((opts: { to: string; json?: boolean }) => run(() => dbCopyCommand(environment(), opts, io, (total) => startProgress('Copiando', total))));

program.command('panel-token').description('muestra el token de operador del panel de agentes (de MESA_PANEL_TOKEN, del directorio de datos o de la base de datos)')
  .action(() => run(() => panelTokenCommand(environment(), io)));

program.command('ingest').description('procesa un mensaje RFC 5322 leído de stdin (entrega por tubería del servidor de correo)')
  .option('--mailbox <id>', 'buzón al que llegó (por defecto: según los destinatarios)')
  .option('--json', 'resultado en JSON')
  .action((opts: { mailbox?: string; json?: boolean }) => run(async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return ingestCommand(environment(), Buffer.concat(chunks), opts, io, createLogger({ destination: process.stderr }));
  }));

program.command('explain').argument('<file>', 'archivo .eml').description('muestra qué decidiría Mesa con un mensaje, sin cambiar nada')
  .option('--mailbox <id>', 'buzón al que llegó').option('--json', 'salida JSON')
  .action((file: string, opts: { json?: boolean; mailbox?: string }) => run(() => {
    if (!existsSync(file)) { io.err(`mesa explain: no existe ${file}`); return EX.NOINPUT; }
    return explainCommand(environment(), file, opts, io);
  }));

const tickets = program.command('tickets').description('consulta tickets');
tickets.command('list').description('lista los tickets más recientes')
  .option('--state <estado>', 'nuevo, en_atencion, esperando_cliente, resuelto, cerrado (varios con comas) o abiertos')
  .option('--level <nivel>', 'nivel de atención, 1 a 3').option('--severity <sev>', 'severidad, 1 a 4')
  .option('--limit <n>', 'cuántos (por defecto 50)').option('--json')
  .action((opts: TicketsListOptions) => run(() => ticketsListCommand(environment(), opts, io)));
tickets.command('show').argument('<key>', 'p. ej. MDA-000123').description('detalle, plazos, historial de ETR y eventos').option('--json')
  .action((key: string, opts: { json?: boolean }) => run(() => ticketsShowCommand(environment(), key, opts, io)));

const incidents = program.command('incidents').description('incidentes mayores: un problema que reportan muchos clientes, atendido una vez');
incidents.command('list').description('incidentes abiertos y resueltos en los últimos 7 días, con sus tickets vinculados')
  .option('--all', 'todos, también los resueltos hace más de 7 días').option('--json')
  .action((opts: { all?: boolean; json?: boolean }) => run(() => incidentsListCommand(environment(), opts, io)));
incidents.command('show').argument('<key>', 'p. ej. INC-0001').description('detalle, tickets vinculados e historial de avisos').option('--json')
  .action((key: string, opts: { json?: boolean }) => run(() => incidentsShowCommand(environment(), key, opts, io)));
incidents.command('declare').argument('<ticket>', 'el ticket cuyo reporte define el incidente, p. ej. MDA-000123')
  .description('declara un incidente mayor a partir de un ticket y avisa al nivel que lo atiende')
  .option('--as <correo>', 'la persona de los niveles a cuyo nombre se registra').option('--json')
  .action((key: string, opts: { as?: string; json?: boolean }) => run(() => incidentsDeclareCommand(environment(), key, opts, io)));
incidents.command('update').argument('<key>', 'p. ej. INC-0001')
  .description('lo mismo que responder al aviso del incidente: el texto se envía a todos los clientes vinculados')
  .option('--text <texto>', 'el aviso para los clientes').option('--etr <valor>', 'nuevo ETR para todos: 4h, mañana 10:00, …')
  .option('--title <título>', 'el título que leen los clientes y la página de estado')
  .option('--link <tickets>', 'tickets a vincular, separados por comas').option('--unlink <tickets>', 'tickets a desvincular, separados por comas')
  .option('--resolve', 'resuelve el incidente y cada ticket vinculado, con su mensaje de cierre')
  .option('--note', 'nota interna: no se envía a nadie')
  .option('--as <correo>', 'la persona de los niveles a cuyo nombre se registra').option('--json')
  .action((key: string, opts: Parameters<typeof incidentsUpdateCommand>[2]) => run(() => incidentsUpdateCommand(environment(), key, opts, io)));

const report = program.command('report').description('informes del escritorio');
report.command('sla').description('cumplimiento de SLA por organización (o categoría) y severidad de los tickets abiertos en un periodo')
  .option('--by <grupo>', 'organisation (por omisión) o category')
  .option('--from <fecha>', 'primer día, YYYY-MM-DD (zona del escritorio)').option('--to <fecha>', 'último día, incluido')
  .option('--csv', 'salida CSV').option('--json', 'salida JSON')
  .action((opts: ReportSlaOptions) => run(() => reportSlaCommand(environment(), opts, io)));

const quarantine = program.command('quarantine').description('mensajes que no se pudieron procesar');
quarantine.command('list').option('--all', 'incluye los ya resueltos').option('--json')
  .action((opts: { json?: boolean; all?: boolean }) => run(() => quarantineListCommand(environment(), opts, io)));
quarantine.command('retry').argument('[id]', 'entrada a reintentar').description('vuelve a procesar un mensaje en cuarentena (o todos con --all)')
  .option('--all', 'reintenta todas las entradas abiertas, con barra de progreso').option('--json')
  .action((id: string | undefined, opts: { json?: boolean; all?: boolean }) => run(() => {
    if (opts.all && id !== undefined) { io.err('mesa quarantine retry: indique un ID o --all, no ambos'); return EX.USAGE; }
    if (opts.all) {
      // While the bar is drawn on a terminal, only warnings interrupt it.
      const log = createLogger({ destination: process.stderr, level: process.env.MESA_LOG_LEVEL ?? (process.stderr.isTTY ? 'warn' : 'info') });
      return quarantineRetryAllCommand(environment(), opts, io, log, (total) => startProgress('Reintentando cuarentena', total));
    }
    if (id === undefined) { io.err('mesa quarantine retry: falta el ID de la entrada (o --all)'); return EX.USAGE; }
    return quarantineRetryCommand(environment(), id, opts, io, createLogger({ destination: process.stderr }));
  }));

const templates = program.command('templates').description('plantillas de mensajes');
templates.command('preview').argument('<moment>', 'p. ej. ack, customer-update, level-escalation').description('muestra un mensaje renderizado para un ticket')
  .requiredOption('--ticket <key>', 'ticket cuyos datos se usan').option('--locale <locale>', 'es-MX o en').option('--part <part>', 'subject, text, html, sms o all')
  .action((moment: string, opts: { ticket: string; locale?: string; part?: string }) => run(() => templatesPreviewCommand(environment(), moment, opts, io)));

await program.parseAsync(process.argv);
